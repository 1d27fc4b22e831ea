"""HTML: one self-contained page a manager can read (inline CSS, no script, no external asset).

Top: status, open findings by severity, the estimated monthly cost with its currency and price
source, what changed since the last run. Then the workspaces, unaudited scopes, waivers, and
every finding with its evidence and fix (folded). Every value is HTML-escaped; only http(s)
links are made clickable.
"""

from __future__ import annotations

import json
from html import escape

from mlgov import __version__
from mlgov.codec import encode
from mlgov.findings import Finding, FindingStatus, Severity
from mlgov.report import Report
from mlgov.report.overview import SEVERITIES, by_workspace, fix_of, ordered, price_sources, status_of
from mlgov.report.summary import Summary, scope_label, summarise

_COLORS = {
    Severity.ERROR: "#6b21a8",
    Severity.CRITICAL: "#991b1b",
    Severity.HIGH: "#dc2626",
    Severity.MEDIUM: "#d97706",
    Severity.LOW: "#2563eb",
    Severity.INFO: "#6b7280",
}
_CSS = """
*{box-sizing:border-box}
body{font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;background:#f5f6f8;
color:#1f2937;font-size:14px;line-height:1.45}
main{max-width:1180px;margin:0 auto;padding:28px 24px 48px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 12px}
.sub{color:#6b7280;margin:0 0 20px}
.status{display:inline-block;padding:2px 10px;border-radius:999px;font-weight:600;font-size:12px;color:#fff}
.status.success{background:#15803d}.status.partial{background:#b45309}.status.error{background:#b91c1c}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(190px,1fr));gap:14px}
.card{background:#fff;border-radius:10px;padding:16px 18px;box-shadow:0 1px 2px rgba(0,0,0,.06)}
.card .label{color:#6b7280;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .value{font-size:28px;font-weight:700;margin-top:4px}
.card .note{color:#6b7280;font-size:12px;margin-top:4px}
.sev{display:inline-block;min-width:64px;text-align:center;padding:1px 8px;border-radius:4px;color:#fff;
font-size:11px;font-weight:700;text-transform:uppercase}
.chips{display:flex;flex-wrap:wrap;gap:6px;margin-top:8px}
table{width:100%;border-collapse:collapse;background:#fff;border-radius:10px;overflow:hidden;
box-shadow:0 1px 2px rgba(0,0,0,.06)}
th,td{text-align:left;padding:8px 10px;border-bottom:1px solid #eef0f3;vertical-align:top}
th{background:#f9fafb;font-size:12px;color:#4b5563;text-transform:uppercase;letter-spacing:.03em}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.zero{color:#d1d5db}
.finding{background:#fff;border-radius:10px;padding:12px 16px;margin:10px 0;border-left:5px solid #ccc;
box-shadow:0 1px 2px rgba(0,0,0,.06)}
.finding .head{display:flex;gap:10px;align-items:baseline;flex-wrap:wrap}
.finding .title{font-weight:600}.finding .where{color:#6b7280}
.finding .msg{margin:6px 0}.finding .fix{margin:4px 0}.finding .fix b{color:#065f46}
.tag{font-size:11px;padding:1px 6px;border-radius:4px;background:#eef2ff;color:#3730a3;font-weight:600}
.tag.new{background:#fee2e2;color:#991b1b}.tag.reopened{background:#ffedd5;color:#9a3412}
.tag.waived{background:#e5e7eb;color:#374151}
details{margin-top:6px}summary{cursor:pointer;color:#2563eb}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
pre{background:#f3f4f6;padding:8px;border-radius:6px;white-space:pre-wrap;word-break:break-all}
.ev{width:auto;min-width:40%;box-shadow:none;border:1px solid #eef0f3}td.nw{white-space:nowrap}
.ev td{padding:3px 8px;font-size:12px}.ev td:first-child{color:#6b7280;white-space:nowrap}
.muted{color:#6b7280}.cost{font-weight:600}
footer{margin-top:36px;color:#9ca3af;font-size:12px}
"""


def e(value: object) -> str:
    """HTML-escape any value."""
    return escape(str(value), quote=True)


def link(url: str | None, text: str) -> str:
    """An escaped link when the URL is http(s), else just the escaped text."""
    if url and url.startswith(("https://", "http://")):
        return f'<a href="{e(url)}" rel="noopener noreferrer">{e(text)}</a>'
    return e(text)


def badge(severity: Severity) -> str:
    """A coloured severity label."""
    return f'<span class="sev" style="background:{_COLORS[severity]}">{e(severity.value)}</span>'


def render(report: Report) -> str:
    """The report as a single HTML document."""
    s = summarise(report)
    result = report.result
    title = f"mlgov audit: {report.target_label or 'configured targets'}"
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>{e(title)}</h1>",
        f'<p class="sub">Run of {e(result.started_at.strftime("%Y-%m-%d %H:%M UTC"))} '
        f'<span class="status {e(result.status)}">{e(result.status)}</span> '
        f"{e(_status_text(result.status))} · {len(result.evaluation.policies)} policies checked · "
        f"{e(_audited(s))}</p>",
    ]
    parts.append(_cards(report, s))
    parts.append(_workspaces(report, s.currency))
    parts.append(_unaudited(report))
    parts.append(_waivers(report))
    parts.append(_findings(report))
    parts.append(_resolved(report))
    sources = price_sources(report)
    parts.append(
        f"<footer>Generated {e(report.generated_at.strftime('%Y-%m-%d %H:%M UTC'))} by mlgov {e(__version__)}. "
        "Costs are estimates from list prices"
        + (f" ({e('; '.join(sources))})" if sources else "")
        + "; your agreement may differ. Evidence never contains secret values.</footer>"
    )
    parts.append("</main></body></html>")
    return "\n".join(p for p in parts if p) + "\n"


def _status_text(status: str) -> str:
    return {
        "success": "every scope was read",
        "partial": "some scopes could not be read: their findings are kept, not resolved",
        "error": "no scope could be read",
    }.get(status, "")


def _audited(s: Summary) -> str:
    parts = []
    if s.databricks_workspaces:
        parts.append(f"{s.databricks_workspaces} Databricks workspace(s)")
    if s.aml_workspaces:
        parts.append(f"{s.aml_workspaces} AML workspace(s)")
    if s.registries:
        parts.append(f"{s.registries} container registr{'y' if s.registries == 1 else 'ies'}")
    return ", ".join(parts) or "no workspace"


def _cards(report: Report, s: Summary) -> str:
    chips = "".join(
        f'<span class="sev" style="background:{_COLORS[sev]}">{e(sev.value)} {s.open_by_severity[sev.value]}</span>'
        for sev in SEVERITIES
        if s.open_by_severity.get(sev.value, 0)
    )
    sources = price_sources(report)
    cards = [
        ("Open findings", str(s.total_open), f'<div class="chips">{chips}</div>' if chips else "nothing open"),
        (
            "Estimated monthly cost",
            f"{s.monthly_cost:,.2f}&nbsp;{e(s.currency)}",
            f"{s.priced_findings} priced finding(s) · prices: {e(sources[0]) if sources else 'n/a'}",
        ),
    ]
    if report.lifecycle:
        reopened = sum(1 for v in report.lifecycle.values() if v == "reopened")
        cards.append(("Since last run", f"+{s.new}", f"{reopened} reopened · {s.resolved} resolved"))
    cards.append(("Waived", str(s.waived), f"{len(report.expiring_waivers)} waiver(s) expired or expiring"))
    if s.scopes_failed:
        cards.append(("Not audited", str(s.scopes_failed), f"of {s.scopes_total} scopes: see below"))
    out = ['<section class="cards">']
    for label, value, note in cards:
        out.append(
            f'<div class="card"><div class="label">{e(label)}</div><div class="value">{value}</div>'
            f'<div class="note">{note}</div></div>'
        )
    out.append("</section>")
    return "".join(out)


def _workspaces(report: Report, currency: str) -> str:
    rows = by_workspace(report)
    if not rows:
        return ""
    head = "".join(f'<th class="num">{e(sev.value)}</th>' for sev in SEVERITIES)
    out = [
        "<h2>By workspace</h2><table><thead><tr><th>Workspace</th>",
        head,
        f'<th class="num">Waived</th><th class="num">Est. monthly ({e(currency)})</th></tr></thead><tbody>',
    ]
    for row in rows:
        cells = "".join(
            f'<td class="num{" zero" if not row.counts[sev] else ""}">{row.counts[sev]}</td>' for sev in SEVERITIES
        )
        out.append(
            f'<tr><td>{e(row.label)}<div class="muted"><code>{e(row.scope_id)}</code></div></td>{cells}'
            f'<td class="num">{row.waived}</td><td class="num cost">{row.cost:,.2f}</td></tr>'
        )
    out.append("</tbody></table>")
    return "".join(out)


def _unaudited(report: Report) -> str:
    failed = [s for s in report.result.snapshot.scopes if not s.ok]
    if not failed:
        return ""
    out = [
        "<h2>Scopes that could not be audited</h2><table><thead><tr><th>Scope</th><th>API</th>"
        "<th>Error</th><th>What to do</th></tr></thead><tbody>"
    ]
    for s in failed:
        out.append(
            f"<tr><td>{e(scope_label(report, s.scope_id))}<div class='muted'><code>{e(s.scope_id)}</code></div></td>"
            f"<td>{e(s.family)}</td><td>{e(s.error or '')}{' (HTTP ' + e(s.status) + ')' if s.status else ''}</td>"
            f"<td>{e(s.hint or '')}</td></tr>"
        )
    out.append("</tbody></table>")
    return "".join(out)


def _waivers(report: Report) -> str:
    if not report.expiring_waivers:
        return ""
    out = [
        "<h2>Waivers expired or expiring</h2><table><thead><tr><th>Policy</th><th>Resource</th><th>Owner</th>"
        "<th>Reason</th><th>Expires</th><th>State</th></tr></thead><tbody>"
    ]
    for w in report.expiring_waivers:
        out.append(
            f"<tr><td class='nw'>{e(w.get('policy', ''))}</td><td><code>{e(w.get('resource', ''))}</code></td>"
            f"<td>{e(w.get('owner', ''))}</td><td>{e(w.get('reason', ''))}</td>"
            f"<td class='nw'>{e(w.get('expires', ''))}</td>"
            f"<td>{e(w.get('state', ''))}</td></tr>"
        )
    out.append("</tbody></table>")
    return "".join(out)


def _findings(report: Report) -> str:
    findings = ordered(report.findings)
    if not findings:
        return "<h2>Findings</h2><p>No findings: every audited resource follows the policies.</p>"
    out = [f"<h2>Findings ({len(findings)})</h2>"]
    for f in findings:
        out.append(_finding(report, f))
    return "".join(out)


def _finding(report: Report, f: Finding) -> str:
    state = status_of(report, f)
    tag = f' <span class="tag {e(state)}">{e(state)}</span>' if state in ("new", "reopened", "waived") else ""
    cost = ""
    if f.cost is not None:
        cost = f' · <span class="cost">≈ {f.cost.monthly:,.2f} {e(f.cost.currency)}/month</span>'
    parts = [
        f'<div class="finding" style="border-left-color:{_COLORS[f.severity]}">',
        f'<div class="head">{badge(f.severity)} <span class="title">{e(f.policy_id)} · {e(f.title)}</span>{tag}</div>',
        f'<div class="where">{e(scope_label(report, f.scope_id))} · {e(f.resource_kind)} '
        f"<b>{e(f.resource_name)}</b>{cost}</div>",
        f'<div class="msg">{e(f.message)}</div>',
        f'<div class="fix"><b>Fix:</b> {e(fix_of(f))}</div>',
    ]
    if f.status is FindingStatus.WAIVED and f.waiver:
        w = f.waiver
        parts.append(
            f'<div class="muted">Waived until {e(w.get("expires", "?"))} by {e(w.get("owner", "?"))}: '
            f"{e(w.get('reason', ''))}</div>"
        )
    parts.append("<details><summary>Evidence, steps and cost details</summary>")
    parts.append(f'<p class="muted">Resource id: <code>{e(f.resource_id)}</code></p>')
    if f.evidence:
        rows = "".join(
            f"<tr><td>{e(k)}</td><td><code>{e(_value(v))}</code></td></tr>" for k, v in encode(f.evidence).items()
        )
        parts.append(f'<table class="ev"><tbody>{rows}</tbody></table>')
    if f.remediation:
        r = f.remediation
        if r.steps:
            parts.append("<ol>" + "".join(f"<li>{e(step)}</li>" for step in r.steps) + "</ol>")
        if r.cli:
            parts.append(f"<pre>{e(r.cli.strip())}</pre>")
        if r.portal:
            parts.append(f"<p>Portal: {e(r.portal.strip())}</p>")
        if r.doc_url:
            parts.append(f"<p>{link(r.doc_url, 'Documentation')}</p>")
    if f.cost is not None:
        inputs = ", ".join(f"{k} = {v}" for k, v in f.cost.inputs.items())
        parts.append(
            f"<p>Cost: {e(f.cost.formula)} ({e(inputs)}); prices: {e(f.cost.price_source)}</p>"
        )
    parts.append(f'<p class="muted">Fingerprint <code>{e(f.fingerprint)}</code></p>')
    parts.append("</details></div>")
    return "".join(parts)


def _value(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _resolved(report: Report) -> str:
    if not report.resolved:
        return ""
    out = [
        f"<h2>Resolved by this run ({len(report.resolved)})</h2><table><thead><tr><th>Severity</th><th>Policy</th>"
        "<th>Workspace</th><th>Resource</th><th>Was</th></tr></thead><tbody>"
    ]
    for f in ordered(report.resolved):
        out.append(
            f"<tr><td>{badge(f.severity)}</td><td class='nw'>{e(f.policy_id)}</td>"
            f"<td>{e(scope_label(report, f.scope_id))}</td>"
            f"<td>{e(f.resource_name)}</td><td>{e(f.message)}</td></tr>"
        )
    out.append("</tbody></table>")
    return "".join(out)
