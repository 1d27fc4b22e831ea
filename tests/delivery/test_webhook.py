"""Generic webhook bodies: the documented JSON and the Slack-compatible form within Slack limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from standardwebhooks import Webhook

from lifecycle_support import finding, webhook_secret
from mlgov.delivery import signing, webhook
from mlgov.delivery.digest import Digest

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def digest(**kw: object) -> Digest:
    base: dict[str, object] = {
        "kind": "changed", "destination": "hook", "run_id": "r1", "run_status": "partial", "generated_at": NOW,
        "open_by_severity": {"medium": 3}, "waived": 1,
    }
    base.update(kw)
    return Digest(**base)  # type: ignore[arg-type]


def test_standard_body_matches_the_documented_shape() -> None:
    """type, timestamp and data with run, counts and the finding lists, as docs/webhook-payload.md says."""
    body = json.loads(webhook.render_standard(digest(new=(finding(),), resolved=(finding("MLF-001", "b"),))))
    assert body["type"] == "mlgov.findings.changed"
    assert body["timestamp"] == "2026-11-23T06:00:00Z"
    data = body["data"]
    assert data["run"] == {"id": "r1", "status": "partial", "target": None}
    assert data["counts"] == {
        "new": 1, "reopened": 0, "resolved": 1, "open": 3, "waived": 1, "open_by_severity": {"medium": 3}
    }
    assert data["new"][0]["lifecycle"] == "new" and data["resolved"][0]["lifecycle"] == "resolved"
    assert set(data["new"][0]) >= {"fingerprint", "policy_id", "severity", "resource", "scope_id", "message",
                                   "remediation", "evidence"}
    assert data["waiver_events"] == [] and data["truncated"] is False


def test_long_lists_are_truncated_with_real_counts() -> None:
    """More than MAX_ITEMS findings: the list is cut, counts stay true, truncated is set."""
    many = tuple(finding("CST-001", f"c{i}") for i in range(webhook.MAX_ITEMS + 5))
    data = json.loads(webhook.render_standard(digest(new=many)))["data"]
    assert len(data["new"]) == webhook.MAX_ITEMS
    assert data["counts"]["new"] == webhook.MAX_ITEMS + 5
    assert data["truncated"] is True


def test_reminder_body_lists_open_findings() -> None:
    """A reminder has type mlgov.findings.reminder and an `open` list."""
    body = json.loads(webhook.render_standard(digest(kind="reminder", still_open=(finding(),))))
    assert body["type"] == "mlgov.findings.reminder"
    assert [f["lifecycle"] for f in body["data"]["open"]] == ["open"]
    assert body["data"]["counts"]["still_open"] == 1


def test_slack_body_stays_within_slack_limits() -> None:
    """A Slack body has the fallback text and at most 50 blocks of at most 3,000 characters each."""
    many = tuple(
        finding("CST-001", f"c{i}<&>", scope=f"databricks://adb-{i % 60}.azuredatabricks.net", message="m" * 400)
        for i in range(400)
    )
    body = json.loads(webhook.render_slack(digest(new=many, report_url="https://r.example.com/x")))
    assert body["text"].startswith("mlgov: 400 new")
    assert len(body["blocks"]) <= 50
    for block in body["blocks"]:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
    joined = json.dumps(body)
    assert "c1&lt;&amp;&gt;" in joined  # mrkdwn control characters escaped
    assert "more (<https://r.example.com/x|full report>)" in joined


def test_signature_matches_the_reference_implementation() -> None:
    """Our signing equals standardwebhooks' for the same id, timestamp and body."""
    secret = webhook_secret()
    body = b'{"a":1}'
    ours = signing.headers(secret, "msg_abc", 1795472781, body)
    theirs = Webhook(secret).sign("msg_abc", datetime.fromtimestamp(1795472781, tz=UTC), body.decode())
    assert ours["webhook-signature"] == theirs
    assert ours["webhook-id"] == "msg_abc" and ours["webhook-timestamp"] == "1795472781"


def test_documented_example_has_the_shape_we_send() -> None:
    """The JSON example in docs/webhook-payload.md has exactly the keys of a real body."""
    import re
    from pathlib import Path

    from mlgov.delivery.digest import WaiverEvent

    doc = (Path(__file__).parents[2] / "docs" / "webhook-payload.md").read_text(encoding="utf-8")
    example = json.loads(re.findall(r"```json\n(.*?)```", doc, re.S)[0])
    event = WaiverEvent(event="waiver_expiring", key="k", policy="EXP-002", resource="x", owner="o",
                        reason="r", expires="2026-11-27", days_left=4, findings=3)
    real = json.loads(webhook.render_standard(digest(
        new=(finding(cost=1.0),), resolved=(finding("MLF-001", "b"),), waiver_events=(event,),
        report_url="https://r.example.com", target_label="t",
    )))
    def keys(data: dict[str, object]) -> dict[str, object]:
        return {k: sorted(v) if isinstance(v, dict) else None for k, v in data.items()}

    assert keys(example["data"]) == keys(real["data"])
    assert sorted(example["data"]["new"][0]) == sorted(real["data"]["new"][0])
    assert sorted(example["data"]["new"][0]["estimated_monthly_cost"]) == sorted(
        real["data"]["new"][0]["estimated_monthly_cost"]
    )
    assert sorted(example["data"]["waiver_events"][0]) == sorted(real["data"]["waiver_events"][0])
    assert sorted(example) == sorted(real)
