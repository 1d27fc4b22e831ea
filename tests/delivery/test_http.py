"""Poster: retries on 408/429/5xx honouring Retry-After, no retry on other 4xx, pacing, deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx

from lifecycle_support import Reply, receiver
from mlgov.delivery.http import Poster, parse_retry_after


class FakeTime:
    """A clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


def poster(t: FakeTime, **kw: object) -> Poster:
    options: dict[str, object] = {
        "max_attempts": 5, "backoff": 1.0, "min_interval": 0.0, "sleep": t.sleep, "clock": t.clock,
        "rng": lambda: 0.5, "attempt_timeout": 2.0,
    }
    options.update(kw)
    return Poster(**options)  # type: ignore[arg-type]


def test_429_with_retry_after_then_success() -> None:
    """A 429 with Retry-After: 1 is retried after exactly that wait, and the second try succeeds."""
    t = FakeTime()
    with receiver() as server, poster(t) as p:
        server.script = [Reply(429, {"Retry-After": "1"})]
        out = p.post(server.url(), b"{}", {})
    assert (out.ok, out.status, out.attempts) == (True, 202, 2)
    assert t.sleeps == [1.0]


def test_500_three_times_then_success_backs_off_exponentially() -> None:
    """Three 500s are retried with growing (jittered) waits; the fourth attempt succeeds."""
    t = FakeTime()
    with receiver() as server, poster(t) as p:
        server.script = [Reply(500), Reply(500), Reply(500)]
        out = p.post(server.url(), b"{}", {})
    assert (out.ok, out.attempts) == (True, 4)
    assert t.sleeps == [0.5, 1.0, 2.0]  # rng 0.5 x 1, 2, 4


def test_408_502_503_504_are_retried() -> None:
    """Request timeout and gateway errors are retried like 500."""
    t = FakeTime()
    with receiver() as server, poster(t) as p:
        server.script = [Reply(408), Reply(502), Reply(503), Reply(504)]
        out = p.post(server.url(), b"{}", {})
    assert (out.ok, out.attempts) == (True, 5)


def test_other_4xx_are_not_retried() -> None:
    """A 400, 401, 403 or 404 is final after one attempt, and says so without the URL."""
    t = FakeTime()
    with receiver() as server, poster(t) as p:
        for status in (400, 401, 403, 404, 410):
            server.script = [Reply(status, body=b"no such flow")]
            url = server.url(f"/flows/x?api-version=1&sig=SECRETSIGNATURE{status}")
            out = p.post(url, b"{}", {})
            assert (out.ok, out.attempts, out.retryable, out.status) == (False, 1, False, status)
            assert out.error is not None and "SECRETSIGNATURE" not in out.error and "/flows/" not in out.error
    assert t.sleeps == []


def test_timeout_is_retryable_and_redacted() -> None:
    """A server slower than the attempt timeout counts as a retryable failure."""
    t = FakeTime()
    with receiver() as server, poster(t, max_attempts=2, attempt_timeout=0.2) as p:
        server.default = Reply(202, delay=1.0)
        out = p.post(server.url("/x?sig=SECRETSIG"), b"{}", {})
    assert (out.ok, out.retryable, out.attempts, out.status) == (False, True, 2, None)
    assert out.error is not None and out.error.startswith("timeout") and "SECRETSIG" not in out.error


def test_connection_refused_is_retryable() -> None:
    """A destination that is not listening is a retryable transport failure, URL not in the error."""
    t = FakeTime()
    with receiver() as server:
        url = server.url("/gone?sig=SECRETSIG")
    with poster(t, max_attempts=2) as p:
        out = p.post(url, b"{}", {})
    assert (out.ok, out.retryable, out.attempts) == (False, True, 2)
    assert out.error is not None and "SECRETSIG" not in out.error and "127.0.0.1" not in out.error


def test_retry_after_is_capped_and_deadline_stops_waiting() -> None:
    """A huge Retry-After is capped; a wait that would pass the deadline ends the attempts."""
    t = FakeTime()
    with receiver() as server, poster(t, retry_after_cap=5.0) as p:
        server.default = Reply(503, {"Retry-After": "3600"})
        out = p.post(server.url(), b"{}", {}, deadline=t.now + 12)
    assert t.sleeps == [5.0, 5.0]
    assert (out.ok, out.retryable, out.attempts) == (False, True, 3)
    assert out.error is not None and "deadline" in out.error


def test_at_most_one_post_per_interval_per_url() -> None:
    """Consecutive posts to one URL are spaced by min_interval; another URL is not held back."""
    t = FakeTime()
    with receiver() as server, poster(t, min_interval=1.0) as p:
        p.post(server.url("/a"), b"{}", {})
        p.post(server.url("/a"), b"{}", {})
        p.post(server.url("/b"), b"{}", {})
    assert t.sleeps == [1.0]


def test_headers_are_built_per_attempt() -> None:
    """A header factory is called for every attempt (fresh signature timestamps)."""
    t = FakeTime()
    calls: list[int] = []

    def headers() -> dict[str, str]:
        calls.append(1)
        return {"x-attempt": str(len(calls))}

    with receiver() as server, poster(t) as p:
        server.script = [Reply(500)]
        p.post(server.url(), b"{}", headers)
        assert [r.headers["x-attempt"] for r in server.requests] == ["1", "2"]


def test_parse_retry_after_forms() -> None:
    """Retry-After is read as delta-seconds or as an HTTP date; garbage is ignored."""
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_redirects_are_not_followed() -> None:
    """A 3xx is a final failure: the body is never re-posted to another location."""
    t = FakeTime()
    with receiver() as server, poster(t, client=httpx.Client()) as p:
        server.script = [Reply(307, {"Location": server.url("/elsewhere")})]
        out = p.post(server.url(), b"{}", {})
        assert (out.ok, out.retryable, out.status) == (False, False, 307)
        assert [r.path for r in server.requests] == ["/hook"]
