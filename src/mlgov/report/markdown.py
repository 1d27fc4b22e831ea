"""Markdown: a summary, the workspaces, then the findings with their fix (for wikis, PRs, issues).

Every value from the tenant is escaped: table separators, Markdown emphasis, and `<`/`>` so that
no HTML reaches a renderer that would pass it through.
"""

from __future__ import annotations

import json
import re

from mlgov.codec import encode
from mlgov.findings import Finding, FindingStatus
from mlgov.report import Report
from mlgov.report.overview import SEVERITIES, by_workspace, fix_of, ordered, price_sources, status_of
from mlgov.report.summary import scope_label, summarise

_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md(text: object) -> str:
    """Escape a value for inline Markdown (and a table cell): one line, no HTML, no emphasis."""
    flat = " ".join(str(text).split())
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", flat)


def code(text: object, *, in_table: bool = False) -> str:
    """Inline code (HTML inside is shown literally); backticks replaced, pipes escaped in tables."""
    value = " ".join(str(text).split()).replace("`", "'")
    if in_table:
        value = value.replace("|", "\\|")
    return f"`{value}`"


def render(report: Report) -> str:
    """The report as GitHub-flavoured Markdown."""
    s = summarise(report)
    result = report.result
    out: list[str] = [f"# mlgov audit: {md(report.target_label or 'configured targets')}", ""]
    out.append(
        f"Run {result.started_at.strftime('%Y-%m-%d %H:%M UTC')}, status **{result.status}**"
        f" ({'every scope was read' if result.status == 'success' else 'some scopes could not be read'}); "
        f"{len(result.evaluation.policies)} policies."
    )
    out.append("")
    out.append("| Severity | Open |")
    out.append("|---|---:|")
    for sev in SEVERITIES:
        n = s.open_by_severity.get(sev.value, 0)
        if n:
            out.append(f"| {sev.value} | {n} |")
    out.append(f"| **total** | **{s.total_open}** |")
    out.append("")
    extras = [f"{s.waived} waived"]
    if report.lifecycle:
        extras.append(f"{s.new} new")
        extras.append(f"{sum(1 for v in report.lifecycle.values() if v == 'reopened')} reopened")
        extras.append(f"{s.resolved} resolved since the last run")
    out.append(", ".join(extras) + ".")
    out.append("")
    out.append(
        f"Estimated monthly cost of open findings: **{s.monthly_cost:,.2f} {md(s.currency)}** "
        f"({s.priced_findings} priced finding(s))."
    )
    sources = price_sources(report)
    if sources:
        out.append("Prices: " + "; ".join(md(x) for x in sources) + ".")
    out.append("")

    rows = by_workspace(report)
    if rows:
        out += ["## By workspace", "", "| Workspace | " + " | ".join(v.value for v in SEVERITIES)
                + f" | Waived | Est. monthly ({md(s.currency)}) |",
                "|---|" + "---:|" * (len(SEVERITIES) + 2)]
        for row in rows:
            cells = " | ".join(str(row.counts[v]) for v in SEVERITIES)
            out.append(f"| {md(row.label)} | {cells} | {row.waived} | {row.cost:,.2f} |")
        out.append("")

    if report.expiring_waivers:
        out += ["## Waivers expired or expiring", "", "| Policy | Resource | Owner | Expires | State |",
                "|---|---|---|---|---|"]
        for w in report.expiring_waivers:
            resource = code(w.get("resource", ""), in_table=True)
            out.append(
                f"| {md(w.get('policy', ''))} | {resource} | {md(w.get('owner', ''))} | "
                f"{md(w.get('expires', ''))} | {md(w.get('state', ''))} |"
            )
        out.append("")

    findings = ordered(report.findings)
    out += ["## Findings", ""]
    if not findings:
        out += ["No findings.", ""]
    else:
        out += ["| Severity | Status | Policy | Workspace | Resource | Finding | Fix |",
                "|---|---|---|---|---|---|---|"]
        for f in findings:
            workspace = md(scope_label(report, f.scope_id))
            out.append(
                f"| {f.severity.value} | {status_of(report, f)} | {f.policy_id} | {workspace} "
                f"| {md(f.resource_name)} | {md(f.message)} | {md(fix_of(f))} |"
            )
        out.append("")
        out += ["## Details", ""]
        for f in findings:
            out += _details(report, f)

    if report.resolved:
        out += ["## Resolved by this run", "", "| Policy | Workspace | Resource | Was |", "|---|---|---|---|"]
        for f in ordered(report.resolved):
            out.append(f"| {f.policy_id} | {md(scope_label(report, f.scope_id))} | {md(f.resource_name)} | "
                       f"{md(f.message)} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _details(report: Report, f: Finding) -> list[str]:
    out = [f"### {f.policy_id} {md(f.title)}: {md(f.resource_name)}", ""]
    out.append(f"- Severity: {f.severity.value}; status: {status_of(report, f)}")
    out.append(f"- Resource: {code(f.resource_id)}")
    out.append(f"- {md(f.message)}")
    if f.cost is not None:
        out.append(
            f"- Estimated monthly cost: {f.cost.monthly:,.2f} {md(f.cost.currency)} "
            f"({md(f.cost.formula)}; prices: {md(f.cost.price_source)})"
        )
    if f.status is FindingStatus.WAIVED and f.waiver:
        w = f.waiver
        out.append(
            f"- Waived until {md(w.get('expires', '?'))} by {md(w.get('owner', '?'))}: {md(w.get('reason', ''))}"
        )
    if f.evidence:
        out.append(f"- Evidence: {code(json.dumps(encode(f.evidence), ensure_ascii=False, sort_keys=True))}")
    if f.remediation:
        r = f.remediation
        out.append(f"- Fix: {md(r.summary)}")
        for i, step in enumerate(r.steps, 1):
            out.append(f"  {i}. {md(step)}")
        if r.cli:
            out.append(f"  - CLI: {code(r.cli.strip())}")
        if r.doc_url and r.doc_url.startswith("https://"):
            out.append(f"  - Docs: <{r.doc_url.replace('>', '%3E').replace(' ', '%20')}>")
    out.append("")
    return out
