"""Microsoft Teams (Power Automate Workflows webhook): one Adaptive Card 1.4 per POST.

The body is `{"type": "message", "attachments": [<one adaptive card>]}`, the envelope the
Workflows template "Post to a channel when a webhook request is received" expects. Only
Adaptive Card 1.4 elements are used (TextBlock, FactSet, Container, Action.OpenUrl): Workflows
has been seen to reject later versions while still answering 202.

Size: Teams rejects messages above about 28 KB, counted after Power Automate wraps them, so the
compact JSON body is kept at or below 20 KB (UTF-8 bytes of the exact body). Rows are grouped
by severity and workspace, each with its fix; when they do not all fit, the card ends with
"...and N more" and a link to `notifications.report_url`.
"""

from __future__ import annotations

import json
from typing import Any

from mlgov.codec import format_time
from mlgov.delivery.digest import SECTION_TITLES, Digest, WaiverEvent, clip, fix_text, grouped
from mlgov.findings import Finding, Severity

BUDGET_BYTES = 20_000
MAX_ROWS = 25
CARD_VERSION = "1.4"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
ADAPTIVE_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
_SEVERITY_COLOR = {
    Severity.ERROR: "Attention",
    Severity.CRITICAL: "Attention",
    Severity.HIGH: "Attention",
    Severity.MEDIUM: "Warning",
    Severity.LOW: "Default",
    Severity.INFO: "Default",
}


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, exactly as posted."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def envelope(card: dict[str, Any]) -> dict[str, Any]:
    """Wrap one card in the message envelope the Workflows trigger expects."""
    return {
        "type": "message",
        "attachments": [{"contentType": ADAPTIVE_CONTENT_TYPE, "contentUrl": None, "content": card}],
    }


def render(digest: Digest, *, budget: int = BUDGET_BYTES, max_rows: int = MAX_ROWS) -> bytes:
    """The exact POST body for a digest: the largest card (up to `max_rows` rows) within `budget`."""
    rows = _rows(digest)
    shown = min(len(rows), max_rows)
    while True:
        body = dumps(envelope(_card(digest, rows, shown)))
        if len(body) <= budget or shown == 0:
            break
        # Shrink fast when far over budget, one row at a time near it.
        over = len(body) - budget
        shown = max(0, shown - max(1, over // 600))
    if len(body) > budget:
        raise ValueError(f"Teams card is {len(body)} bytes even with no rows (budget {budget})")
    return body


# A row is (section, severity, workspace, finding); headers are derived when rendering.
_Row = tuple[str, Severity, str, Finding]


def _rows(digest: Digest) -> list[_Row]:
    rows: list[_Row] = []
    for section, items in digest.sections():
        for severity, workspace, group in grouped(items, digest.scope_names):
            rows.extend((section, severity, workspace, f) for f in group)
    return rows


def _card(digest: Digest, rows: list[_Row], shown: int) -> dict[str, Any]:
    body: list[dict[str, Any]] = [_title(digest), _facts(digest)]
    if digest.kind == "test":
        body.append(
            _text(
                "This is a test message sent by `mlgov notify test`. If you can read it, mlgov can "
                "post to this channel. Nothing needs to be done.",
                wrap=True,
            )
        )
    current: tuple[str, Severity | None, str | None] = ("", None, None)
    counts = {name: len(items) for name, items in digest.sections()}
    for section, severity, workspace, finding in rows[:shown]:
        if section != current[0]:
            body.append(
                _text(
                    f"{SECTION_TITLES[section]} ({counts[section]})",
                    size="Medium",
                    weight="Bolder",
                    separator=True,
                    spacing="Medium",
                )
            )
            current = (section, None, None)
        if (severity, workspace) != (current[1], current[2]):
            body.append(
                _text(
                    f"{severity.value.upper()} · {clip(workspace, 80)}",
                    weight="Bolder",
                    color=_SEVERITY_COLOR[severity],
                    spacing="Small",
                )
            )
            current = (section, severity, workspace)
        body.append(_finding_row(finding, resolved=section == "resolved"))
    hidden = len(rows) - shown
    if hidden > 0:
        where = "see the full report" if digest.report_url else "run `mlgov findings` for the full list"
        body.append(_text(f"...and {hidden} more ({where})", wrap=True, is_subtle=True, spacing="Medium"))
    if digest.waiver_events:
        body.append(_text("Waivers", size="Medium", weight="Bolder", separator=True, spacing="Medium"))
        for event in digest.waiver_events[:10]:
            body.append(_waiver_row(event))
        if len(digest.waiver_events) > 10:
            body.append(_text(f"...and {len(digest.waiver_events) - 10} more waiver(s)", is_subtle=True))
    card: dict[str, Any] = {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "msteams": {"width": "Full"},
        "body": body,
    }
    if digest.report_url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Full report", "url": digest.report_url}]
    return card


def _title(digest: Digest) -> dict[str, Any]:
    worst = [f.severity.rank for f in (*digest.new, *digest.reopened)]
    if digest.kind == "test":
        color = "Accent"
    elif worst and max(worst) >= Severity.HIGH.rank:
        color = "Attention"
    elif worst or any(w.event == "waiver_expired" for w in digest.waiver_events):
        color = "Warning"
    elif digest.resolved and not digest.still_open:
        color = "Good"
    else:
        color = "Default"
    return _text(clip(digest.headline(), 200), size="Large", weight="Bolder", color=color, wrap=True)


def _facts(digest: Digest) -> dict[str, Any]:
    facts = [{"title": "Run", "value": f"{format_time(digest.generated_at)} ({digest.run_status})"}]
    if digest.target_label:
        facts.append({"title": "Audited", "value": clip(digest.target_label, 120)})
    open_counts = ", ".join(
        f"{n} {sev}" for sev, n in digest.open_by_severity.items() if n
    ) or "none"
    if digest.kind != "test":
        facts.append({"title": "Open", "value": open_counts})
        if digest.waived:
            facts.append({"title": "Waived", "value": str(digest.waived)})
    facts.append({"title": "Destination", "value": digest.destination})
    return {"type": "FactSet", "facts": facts}


def _finding_row(f: Finding, *, resolved: bool) -> dict[str, Any]:
    items = [
        _text(f"**{f.policy_id}** {clip(f.title, 100)}: {clip(f.resource_name or f.resource_id, 80)}", wrap=True),
        _text(clip(f.message, 300), wrap=True, is_subtle=True, spacing="None"),
    ]
    if not resolved:
        fix = fix_text(f)
        if fix:
            items.append(_text("Fix: " + clip(fix, 240), wrap=True, spacing="None"))
        if f.cost is not None and f.cost.monthly > 0:
            items.append(
                _text(f"≈ {f.cost.monthly:,.2f} {f.cost.currency}/month", spacing="None", is_subtle=True)
            )
    return {"type": "Container", "spacing": "Small", "items": items}


def _waiver_row(event: WaiverEvent) -> dict[str, Any]:
    if event.event == "waiver_expired":
        head = f"Expired {event.expires}: {event.policy} on {clip(event.resource, 100)}"
        tail = f"owner {clip(event.owner, 60)}; its findings are reported again ({event.findings})"
    else:
        head = f"Expires {event.expires} (in {event.days_left} day(s)): {event.policy} on {clip(event.resource, 100)}"
        tail = f"owner {clip(event.owner, 60)}; reason: {clip(event.reason, 120)}"
    return {
        "type": "Container",
        "spacing": "Small",
        "items": [_text(head, wrap=True), _text(tail, wrap=True, is_subtle=True, spacing="None")],
    }


def _text(
    text: str,
    *,
    size: str | None = None,
    weight: str | None = None,
    color: str | None = None,
    wrap: bool = False,
    is_subtle: bool = False,
    separator: bool = False,
    spacing: str | None = None,
) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "TextBlock", "text": text}
    if size:
        block["size"] = size
    if weight:
        block["weight"] = weight
    if color and color != "Default":
        block["color"] = color
    if wrap:
        block["wrap"] = True
    if is_subtle:
        block["isSubtle"] = True
    if separator:
        block["separator"] = True
    if spacing:
        block["spacing"] = spacing
    return block
