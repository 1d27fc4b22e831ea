"""The generic webhook body (documented in docs/webhook-payload.md) and its Slack-compatible form.

Standard body: `{"type": "mlgov.findings.changed" | "mlgov.findings.reminder" | "mlgov.test",
"timestamp": <ISO-8601 event time>, "data": {...}}`. It is signed with Standard Webhooks headers
when posted (`mlgov.delivery.signing`). Each list holds at most `MAX_ITEMS` findings; `counts`
always gives the real totals and `truncated` says when a list was cut.
"""

from __future__ import annotations

from typing import Any

from mlgov import __version__
from mlgov.codec import format_time
from mlgov.delivery.digest import SECTION_TITLES, Digest, clip, fix_text, grouped
from mlgov.delivery.teams import dumps

MAX_ITEMS = 100
EVENT_TYPES = {
    "changed": "mlgov.findings.changed",
    "reminder": "mlgov.findings.reminder",
    "test": "mlgov.test",
}
SLACK_MAX_BLOCKS = 50
SLACK_MAX_SECTION = 3000


def render_standard(digest: Digest) -> bytes:
    """The documented mlgov JSON body."""
    from mlgov.report.json_report import finding_dict

    truncated = False

    def items(section: str, findings: tuple[Any, ...]) -> list[dict[str, Any]]:
        nonlocal truncated
        if len(findings) > MAX_ITEMS:
            truncated = True
        label = "open" if section == "open" else section
        return [finding_dict(f, label) for f in findings[:MAX_ITEMS]]

    data: dict[str, Any] = {
        "run": {"id": digest.run_id, "status": digest.run_status, "target": digest.target_label},
        "destination": digest.destination,
        "counts": {
            "new": len(digest.new),
            "reopened": len(digest.reopened),
            "resolved": len(digest.resolved),
            "open": sum(digest.open_by_severity.values()),
            "waived": digest.waived,
            "open_by_severity": dict(digest.open_by_severity),
        },
        "new": items("new", digest.new),
        "reopened": items("reopened", digest.reopened),
        "resolved": items("resolved", digest.resolved),
        "waiver_events": [w.as_dict() for w in digest.waiver_events],
    }
    if digest.kind == "reminder":
        data["open"] = items("open", digest.still_open)
        data["counts"]["still_open"] = len(digest.still_open)
    data["truncated"] = truncated
    data["report_url"] = digest.report_url
    data["mlgov_version"] = __version__
    return dumps(
        {"type": EVENT_TYPES[digest.kind], "timestamp": format_time(digest.generated_at), "data": data}
    )


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_slack(digest: Digest) -> bytes:
    """A Slack incoming-webhook body: `text` (the fallback) and at most 50 blocks."""
    headline = digest.headline()
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(headline, 150)}},
    ]
    context = f"run {digest.run_id} · {digest.run_status} · {format_time(digest.generated_at)}"
    if digest.target_label:
        context += f" · {digest.target_label}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _slack_escape(clip(context, 300))}]})
    if digest.kind == "test":
        blocks.append(
            _section("This is a test message sent by `mlgov notify test`. If you can read it, mlgov can post here.")
        )
    reserve = 3  # room for "...and N more", the waivers block and a report link
    shown = 0
    total = sum(len(items) for _, items in digest.sections())
    for section, items in digest.sections():
        if len(blocks) >= SLACK_MAX_BLOCKS - reserve:
            break
        blocks.append(_section(f"*{SECTION_TITLES[section]} ({len(items)})*"))
        for severity, workspace, group in grouped(items, digest.scope_names):
            if len(blocks) >= SLACK_MAX_BLOCKS - reserve:
                break
            lines = [f"*{severity.value.upper()} · {_slack_escape(clip(workspace, 80))}*"]
            for f in group:
                line = (
                    f"• *{f.policy_id}* {_slack_escape(clip(f.resource_name or f.resource_id, 80))}: "
                    f"{_slack_escape(clip(f.message, 200))}"
                )
                if section != "resolved" and fix_text(f):
                    line += f"\n   _Fix:_ {_slack_escape(clip(fix_text(f), 200))}"
                if sum(len(x) + 1 for x in lines) + len(line) > SLACK_MAX_SECTION - 20:
                    break
                lines.append(line)
                shown += 1
            blocks.append(_section("\n".join(lines)))
    if shown < total:
        more = f"...and {total - shown} more"
        if digest.report_url:
            more += f" (<{digest.report_url}|full report>)"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    if digest.waiver_events:
        lines = []
        for w in digest.waiver_events[:10]:
            state = "expired" if w.event == "waiver_expired" else f"expires in {w.days_left} day(s)"
            lines.append(
                f"• {w.policy} on {_slack_escape(clip(w.resource, 100))}: {state} ({w.expires}), "
                f"owner {_slack_escape(clip(w.owner, 60))}"
            )
        blocks.append(_section("*Waivers*\n" + "\n".join(lines)))
    return dumps({"text": headline, "blocks": blocks[:SLACK_MAX_BLOCKS]})


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SLACK_MAX_SECTION]}}
