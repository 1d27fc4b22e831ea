"""Sending: the outbox after a run, and one test message for `mlgov notify test`.

Each outbox row is one POST with a stable id. A row is marked `sent` only after a 2xx; a row
that could not be sent (destination down, deadline reached) stays `failed` and is tried again
by the next run, oldest first; a final refusal (4xx other than 408/429, a redirect) marks it
`dead`. A destination that failed in this run is not tried again in the same run, so one dead
endpoint cannot use up the deadline of the others.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from mlgov.config import Config, Destination
from mlgov.delivery import signing
from mlgov.delivery.digest import Digest
from mlgov.delivery.http import Poster, PostOutcome
from mlgov.delivery.urls import host_of
from mlgov.state.store import StateStore, age_days, ts

log = structlog.get_logger("mlgov.delivery")
CONTENT_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class SendSummary:
    """What sending the outbox did."""

    sent: int = 0
    failed: int = 0
    dropped: int = 0
    """Rows marked dead without an attempt (destination removed, too old)."""


def render(digest: Digest, destination: Destination) -> bytes:
    """The exact body posted to a destination for a digest."""
    from mlgov.delivery import teams, webhook

    if destination.type == "teams":
        return teams.render(digest)
    if destination.type == "slack" or destination.body == "slack":
        return webhook.render_slack(digest)
    return webhook.render_standard(digest)


def header_factory(destination: Destination, delivery_id: str, body: bytes) -> Callable[[], Mapping[str, str]]:
    """Headers for each attempt: Standard Webhooks ones (fresh timestamp) for webhook destinations."""

    def make() -> Mapping[str, str]:
        if destination.type != "webhook":
            return {}
        secret = destination.secret.get_secret_value() if destination.secret else None
        return signing.headers(secret, delivery_id, int(time.time()), body)

    return make


def make_poster(config: Config, **overrides: object) -> Poster:
    """A Poster with the config's retry, timeout and pacing settings."""
    n = config.notifications
    kwargs: dict[str, object] = {
        "max_attempts": n.max_attempts,
        "attempt_timeout": n.attempt_timeout_seconds,
        "backoff": n.backoff_seconds,
        "min_interval": n.min_interval_seconds,
    }
    kwargs.update(overrides)
    return Poster(**kwargs)  # type: ignore[arg-type]


def send_outbox(
    store: StateStore, config: Config, *, now: datetime | None = None, poster: Poster | None = None
) -> SendSummary:
    """Send every unsent delivery (earlier runs' first), marking each sent, failed or dead."""
    now = now or datetime.now(UTC)
    rows = store.unsent()
    if not rows:
        return SendSummary()
    destinations = {d.name: d for d in config.notifications.destinations}
    own = poster is None
    poster = poster or make_poster(config)
    deadline = poster.clock() + config.notifications.deadline_seconds
    sent = failed = dropped = 0
    down: set[str] = set()
    try:
        for row in rows:
            destination = destinations.get(row.destination)
            stamp = ts(datetime.now(UTC))
            if destination is None:
                store.mark_delivery(
                    row.delivery_id, status="dead", attempts=0, last_status=None,
                    last_error="destination no longer configured", when=stamp,
                )
                log.warning("delivery.dropped", destination=row.destination, reason="not configured")
                dropped += 1
                continue
            if age_days(row.created_at, now) > config.notifications.max_pending_days:
                store.mark_delivery(
                    row.delivery_id, status="dead", attempts=0, last_status=None,
                    last_error=f"not sent within {config.notifications.max_pending_days} days", when=stamp,
                )
                log.warning("delivery.dropped", destination=row.destination, reason="too old")
                dropped += 1
                continue
            if row.destination in down or poster.clock() >= deadline:
                failed += 1
                continue
            body = row.payload.encode("utf-8")
            url = destination.url.get_secret_value()
            outcome = poster.post(url, body, header_factory(destination, row.delivery_id, body), deadline=deadline)
            _record(store, row.delivery_id, outcome)
            if outcome.ok:
                sent += 1
                log.info(
                    "delivery.sent", destination=row.destination, kind=row.kind, status=outcome.status,
                    attempts=outcome.attempts, delivery_id=row.delivery_id,
                )
            else:
                failed += 1
                down.add(row.destination)
                log.warning(
                    "delivery.failed", destination=row.destination, kind=row.kind, status=outcome.status,
                    attempts=outcome.attempts, error=outcome.error, will_retry=outcome.retryable,
                    host=host_of(url), delivery_id=row.delivery_id,
                )
    finally:
        if own:
            poster.close()
    return SendSummary(sent=sent, failed=failed, dropped=dropped)


def _record(store: StateStore, delivery_id: str, outcome: PostOutcome) -> None:
    status = "sent" if outcome.ok else ("failed" if outcome.retryable else "dead")
    store.mark_delivery(
        delivery_id,
        status=status,
        attempts=outcome.attempts,
        last_status=outcome.status,
        last_error=outcome.error,
        when=ts(datetime.now(UTC)),
    )


def send_test(config: Config, name: str, *, poster: Poster | None = None) -> PostOutcome:
    """Post a clearly labelled test message to one configured destination."""
    from mlgov.errors import UsageError

    destination = next((d for d in config.notifications.destinations if d.name == name), None)
    if destination is None:
        known = ", ".join(d.name for d in config.notifications.destinations) or "none configured"
        raise UsageError(
            f"no notification destination named {name!r} (destinations: {known})",
            hint="Destinations are listed under notifications.destinations in the config.",
        )
    now = datetime.now(UTC).replace(microsecond=0)
    delivery_id = "msg_test_" + secrets.token_hex(12)
    digest = Digest(
        kind="test",
        destination=destination.name,
        run_id="test",
        run_status="test",
        generated_at=now,
        report_url=config.notifications.report_url,
    )
    body = render(digest, destination)
    own = poster is None
    poster = poster or make_poster(config)
    try:
        deadline = poster.clock() + config.notifications.deadline_seconds
        return poster.post(
            destination.url.get_secret_value(),
            body,
            header_factory(destination, delivery_id, body),
            deadline=deadline,
        )
    finally:
        if own:
            poster.close()
