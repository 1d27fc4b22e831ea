"""POST with retries: 408, 429, 5xx and transport errors are retried within a deadline.

- `Retry-After` is honoured (seconds or an HTTP date), capped; otherwise exponential backoff
  with full jitter (`random(0, min(cap, base * 2**attempt))`).
- Other 4xx (and 3xx: redirects are not followed) are final: retrying cannot help.
- At most one POST per `min_interval` seconds to the same URL, retries included.
- Nothing here ever puts the URL in a message: errors carry the status code and the
  exception class, with `sig=` values and the URL itself redacted.

Clock, sleep and randomness are injectable so that tests never wait.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from mlgov.delivery.urls import redact

RETRYABLE = frozenset({408, 429})
RETRY_AFTER_CAP = 60.0
BACKOFF_CAP = 30.0


@dataclass(frozen=True, slots=True)
class PostOutcome:
    """What happened to one delivery: success, and if not, whether a later run may retry."""

    ok: bool
    status: int | None
    attempts: int
    error: str | None = None
    retryable: bool = False


def is_retryable(status: int) -> bool:
    """408, 429 and every 5xx."""
    return status in RETRYABLE or status >= 500


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class Poster:
    """Sends POST requests with pacing, retries and a deadline, over one httpx client."""

    def __init__(
        self,
        *,
        client: httpx.Client | None = None,
        max_attempts: int = 5,
        attempt_timeout: float = 15.0,
        backoff: float = 1.0,
        min_interval: float = 1.0,
        retry_after_cap: float = RETRY_AFTER_CAP,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._own_client = client is None
        self.client = client or httpx.Client(follow_redirects=False, trust_env=False)
        self.max_attempts = max_attempts
        self.attempt_timeout = attempt_timeout
        self.backoff = backoff
        self.min_interval = min_interval
        self.retry_after_cap = retry_after_cap
        self.sleep = sleep
        self.clock = clock
        self.rng = rng
        self._last_post: dict[str, float] = {}

    def close(self) -> None:
        """Close the client if this poster created it."""
        if self._own_client:
            self.client.close()

    def __enter__(self) -> Poster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def post(
        self,
        url: str,
        body: bytes,
        headers: Callable[[], Mapping[str, str]] | Mapping[str, str],
        *,
        deadline: float | None = None,
    ) -> PostOutcome:
        """POST `body` to `url` until a 2xx, a final answer, `max_attempts` or the deadline.

        `headers` may be a function, called before each attempt (a fresh signature timestamp);
        `deadline` is a value of the clock after which no attempt starts and no wait is begun.
        """
        status: int | None = None
        error: str | None = None
        attempt = 0
        while attempt < self.max_attempts:
            self._pace(url)
            if deadline is not None and self.clock() >= deadline:
                break
            attempt += 1
            hdrs = {"Content-Type": "application/json", "User-Agent": "mlgov"}
            hdrs.update(headers() if callable(headers) else headers)
            wait: float | None = None
            timeout = self.attempt_timeout
            if deadline is not None:
                timeout = max(0.1, min(timeout, deadline - self.clock()))
            try:
                self._last_post[url] = self.clock()
                response = self.client.post(url, content=body, headers=hdrs, timeout=timeout)
            except httpx.TimeoutException as exc:
                status, error = None, f"timeout ({type(exc).__name__})"
            except httpx.HTTPError as exc:
                status, error = None, redact(f"{type(exc).__name__}: {exc}", url)
            else:
                status = response.status_code
                if 200 <= status < 300:
                    return PostOutcome(ok=True, status=status, attempts=attempt)
                error = f"HTTP {status}" + _reason(response)
                if not is_retryable(status):
                    return PostOutcome(ok=False, status=status, attempts=attempt, error=error, retryable=False)
                wait = parse_retry_after(response.headers.get("retry-after"))
                if wait is not None:
                    wait = min(wait, self.retry_after_cap)
            if attempt >= self.max_attempts:
                break
            if wait is None:
                wait = self.rng() * min(BACKOFF_CAP, self.backoff * 2 ** (attempt - 1))
            if deadline is not None and self.clock() + wait >= deadline:
                error = f"{error}; deadline reached"
                break
            if wait > 0:
                self.sleep(wait)
        if error is None:
            error = "deadline reached before the first attempt"
        return PostOutcome(ok=False, status=status, attempts=attempt, error=error, retryable=True)

    def _pace(self, url: str) -> None:
        last = self._last_post.get(url)
        if last is None or self.min_interval <= 0:
            return
        gap = last + self.min_interval - self.clock()
        if gap > 0:
            self.sleep(gap)


def _reason(response: httpx.Response) -> str:
    """A short, URL-free reason: the first bytes of a JSON or text error body, if any."""
    text = response.text.strip() if response.content else ""
    if not text:
        return ""
    text = " ".join(text.split())[:200]
    return ": " + redact(text, str(response.request.url) if response.request else None)
