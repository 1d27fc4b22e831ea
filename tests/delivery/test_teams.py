"""Teams cards: Adaptive Card 1.4 shape, the 20 KB budget, grouping, and the "...and N more" link."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from adaptive_card import validate_message
from lifecycle_support import AML, DBX, finding
from mlgov.delivery import teams
from mlgov.delivery.digest import Digest, WaiverEvent
from mlgov.findings import Severity

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def digest(**kw: object) -> Digest:
    base: dict[str, object] = {
        "kind": "changed", "destination": "ops", "run_id": "r1", "run_status": "success", "generated_at": NOW,
        "open_by_severity": {"high": 2, "medium": 1}, "report_url": "https://reports.example.com/latest.html",
        "scope_names": {DBX.lower(): "dbx-prod"},
    }
    base.update(kw)
    return Digest(**base)  # type: ignore[arg-type]


def texts(card: dict[str, object]) -> list[str]:
    out: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "TextBlock":
                out.append(str(node["text"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return out


def test_small_digest_is_a_valid_14_card_grouped_by_severity_and_workspace() -> None:
    """One attachment, version 1.4, sections then severity/workspace headers, each row with its fix."""
    new = (
        finding("CST-001", "a", severity=Severity.MEDIUM),
        finding("MLF-001", "b", severity=Severity.HIGH),
        finding("CST-002", "c", scope=AML, severity=Severity.MEDIUM, cost=99.5),
    )
    body = teams.render(digest(new=new, resolved=(finding("EXP-002", "d", severity=Severity.LOW),)))
    message = json.loads(body)
    assert validate_message(message) == []
    card = message["attachments"][0]["content"]
    assert card["version"] == "1.4" and card["msteams"] == {"width": "Full"}
    lines = texts(card)
    assert lines[0].startswith("mlgov: 3 new, 1 resolved")
    headers = [t for t in lines if " · " in t]
    assert headers == ["HIGH · dbx-prod", "MEDIUM · dbx-prod", "MEDIUM · mlw-prod", "LOW · dbx-prod"]
    assert "Fix: Fix a for CST-001" in lines
    assert any("99.50 USD/month" in t for t in lines)
    assert not any(t.startswith("Fix: Fix d") for t in lines)  # resolved rows carry no fix
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Full report", "url": "https://reports.example.com/latest.html"}
    ]


def test_large_digest_is_cut_under_20_kb_with_and_n_more() -> None:
    """Hundreds of findings with long texts still give one card of at most 20 KB ending in "...and N more"."""
    many = tuple(
        finding("CST-001", f"cluster-{i:03d}-" + "é" * 40, message="x" * 900) for i in range(300)
    )
    body = teams.render(digest(new=many))
    assert len(body) <= 20_000
    message = json.loads(body)
    assert validate_message(message) == []
    lines = texts(message["attachments"][0]["content"])
    more = [t for t in lines if t.startswith("...and ")]
    assert len(more) == 1
    shown = sum(1 for t in lines if t.startswith("**CST-001**"))
    assert more[0].startswith(f"...and {300 - shown} more (see the full report)")
    assert 0 < shown <= teams.MAX_ROWS
    assert body == json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()  # compact


def test_cut_card_without_report_url_points_at_the_cli() -> None:
    """Without notifications.report_url the card says how to see the rest and has no action."""
    many = tuple(finding("CST-001", f"c{i}") for i in range(40))
    message = json.loads(teams.render(digest(new=many, report_url=None)))
    card = message["attachments"][0]["content"]
    assert "actions" not in card
    assert any("run `mlgov findings` for the full list" in t for t in texts(card))


def test_waiver_events_and_reminders_render() -> None:
    """Waiver events get their own section; a reminder lists what is still open."""
    events = (
        WaiverEvent(event="waiver_expired", key="k1", policy="CST-001", resource="*", owner="alice",
                    reason="demo", expires="2026-11-20", days_left=-3, findings=2),
        WaiverEvent(event="waiver_expiring", key="k2", policy="MLF-*", resource="x", owner="bob",
                    reason="pilot", expires="2026-11-25", days_left=2),
    )
    message = json.loads(teams.render(digest(kind="reminder", still_open=(finding(),), waiver_events=events)))
    assert validate_message(message) == []
    lines = texts(message["attachments"][0]["content"])
    assert lines[0].startswith("mlgov reminder: 1 finding(s) still open, 1 waiver(s) expired, 1 waiver(s) expiring")
    assert "Still open (1)" in lines
    assert any(t.startswith("Expired 2026-11-20: CST-001") for t in lines)
    assert any(t.startswith("Expires 2026-11-25 (in 2 day(s))") for t in lines)


def test_test_message_is_labelled() -> None:
    """The `notify test` card says it is a test."""
    message = json.loads(teams.render(digest(kind="test")))
    assert validate_message(message) == []
    lines = texts(message["attachments"][0]["content"])
    assert lines[0] == "mlgov test message for destination ops"
    assert any("test message sent by `mlgov notify test`" in t for t in lines)


def test_validator_rejects_15_elements_and_submit_actions() -> None:
    """The structural validator itself refuses what Workflows would not render."""
    card = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "Table", "rows": []}],
            "actions": [{"type": "Action.Submit", "title": "x"}]}
    message = {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                                                   "content": card}]}
    errors = validate_message(message)
    assert any("version" in e for e in errors)
    assert any("Table" in e for e in errors)
    assert any("Action.Submit" in e for e in errors)
