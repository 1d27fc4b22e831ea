"""Sending the outbox and test messages: bodies per destination type, and no URL in any log event."""

from __future__ import annotations

from pathlib import Path

import pytest
import structlog
from standardwebhooks import Webhook

from adaptive_card import validate_message
from lifecycle_support import T0, Reply, config, finding, receiver, result, webhook_secret
from mlgov.delivery.send import send_test
from mlgov.errors import UsageError
from mlgov.lifecycle import record_run

SIG = "sig=" + "S" * 30


def test_each_destination_type_gets_its_own_body(tmp_path: Path) -> None:
    """Teams gets an Adaptive Card envelope, Slack a text+blocks body, a webhook the signed mlgov JSON."""
    with receiver() as server:
        cfg = config(tmp_path, destinations=[
            {"name": "teams", "type": "teams", "url": server.url("/teams")},
            {"name": "slack", "type": "slack", "url": server.url("/slack")},
            {"name": "hook-slack", "type": "webhook", "url": server.url("/hs"), "secret": webhook_secret(),
             "body": "slack"},
        ])
        record_run(result([finding()]), cfg, notify=True, now=T0)
        got = {r.path: r for r in server.requests}
    assert validate_message(got["/teams"].json()) == []
    assert len(got["/teams"].body) <= 20_000
    assert set(got["/slack"].json()) == {"text", "blocks"}
    assert "webhook-signature" not in got["/slack"].headers
    Webhook(webhook_secret()).verify(got["/hs"].body, got["/hs"].headers)
    assert set(got["/hs"].json()) == {"text", "blocks"}


def test_failed_delivery_logs_never_contain_the_url(tmp_path: Path) -> None:
    """When a post fails, the log events name the destination and status but not the URL or its sig."""
    with receiver() as server:
        server.default = Reply(500, body=b"upstream said " + SIG.encode())
        url = server.url(f"/powerautomate/flow/abc?api-version=1&{SIG}")
        cfg = config(tmp_path, destinations=[{"name": "teams", "type": "teams", "url": url}],
                     notifications={"max_attempts": 2})
        with structlog.testing.capture_logs() as logs:
            out = record_run(result([finding()]), cfg, notify=True, now=T0)
    assert out.delivery_failures == 1
    failed = [e for e in logs if e["event"] == "delivery.failed"]
    assert failed and failed[0]["destination"] == "teams" and failed[0]["status"] == 500
    dump = repr(logs)
    assert SIG not in dump and "/powerautomate/flow/abc" not in dump


def test_send_test_posts_a_labelled_message(tmp_path: Path) -> None:
    """`notify test` posts a test body to the named destination and returns the HTTP outcome."""
    with receiver() as server:
        cfg = config(tmp_path, destinations=[
            {"name": "hook", "type": "webhook", "url": server.url(), "secret": webhook_secret()}
        ])
        outcome = send_test(cfg, "hook")
        assert (outcome.ok, outcome.status) == (True, 202)
        payload = Webhook(webhook_secret()).verify(server.requests[0].body, server.requests[0].headers)
    assert payload["type"] == "mlgov.test"
    assert server.requests[0].headers["webhook-id"].startswith("msg_test_")


def test_send_test_unknown_destination(tmp_path: Path) -> None:
    """Naming a destination that is not configured is a usage error listing the names."""
    cfg = config(tmp_path, destinations=[{"name": "a", "type": "slack", "url": "https://hooks.slack.com/x"}])
    with pytest.raises(UsageError, match=r"no notification destination named 'b' \(destinations: a\)"):
        send_test(cfg, "b")


def test_removed_destination_drops_its_pending_deliveries(tmp_path: Path) -> None:
    """Deliveries owed to a destination no longer in the config are marked dead, not sent elsewhere."""
    import sqlite3

    with receiver() as server:
        cfg = config(tmp_path, destinations=[{"name": "old", "type": "slack", "url": server.url()}])
        record_run(result([finding()]), cfg, notify=False, now=T0)
        record_run(result([finding()]), config(tmp_path), notify=True, now=T0)
        assert server.requests == []
    conn = sqlite3.connect(tmp_path / "state.db")
    assert conn.execute("SELECT status, last_error FROM deliveries").fetchall() == [
        ("dead", "destination no longer configured")
    ]
    conn.close()
