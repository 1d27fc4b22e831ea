"""The console report: status, counts by severity, then each finding with its fix."""

from __future__ import annotations

import io

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from mlgov.findings import Finding, FindingStatus, Severity
from mlgov.report import Report
from mlgov.report.summary import scope_label, summarise

MAX_ROWS = 150
_STYLE = {
    Severity.ERROR: "bold magenta",
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def render(report: Report) -> str:
    """Plain text (no colour), 140 columns: for files and pipes."""
    return render_for_terminal(report, width=140, color=False)


def render_for_terminal(report: Report, *, width: int, color: bool) -> str:
    """The table at a given width, with colour codes when `color`."""
    buf = io.StringIO()
    console = Console(file=buf, width=max(width, 100), force_terminal=color, no_color=not color,
                      highlight=False, soft_wrap=False)
    _write(console, report)
    return buf.getvalue()


def _write(console: Console, report: Report) -> None:
    s = summarise(report)
    result = report.result
    when = result.started_at.strftime("%Y-%m-%d %H:%M UTC")
    title = f"mlgov audit - {report.target_label or 'configured targets'} - {when}"
    console.print(Text(title, style="bold"))
    parts = []
    if s.databricks_workspaces:
        parts.append(f"{s.databricks_workspaces} Databricks workspace(s)")
    if s.aml_workspaces:
        parts.append(f"{s.aml_workspaces} AML workspace(s)")
    if s.registries:
        parts.append(f"{s.registries} container registr{'y' if s.registries == 1 else 'ies'}")
    if s.subscriptions:
        parts.append(f"{s.subscriptions} subscription(s)")
    console.print(f"Audited: {', '.join(parts) or 'nothing'}; {len(result.evaluation.policies)} policies "
                  f"in {result.duration_seconds:.1f}s.")
    if result.status == "success":
        console.print(Text("Status: complete - every scope was read.", style="green"))
    else:
        console.print(Text(
            f"Status: {result.status.upper()} - {s.scopes_failed} of {s.scopes_total} scope(s) could not be "
            "read (AUD-001 below). Their earlier findings are kept, not resolved.",
            style="bold magenta",
        ))
    console.print()

    counts = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    counts.add_column("Severity")
    counts.add_column("Open", justify="right")
    for sev in Severity:
        n = s.open_by_severity.get(sev.value, 0)
        if n or sev in (Severity.HIGH, Severity.MEDIUM, Severity.LOW):
            counts.add_row(Text(sev.value, style=_STYLE[sev]), str(n))
    extra = []
    if s.waived:
        extra.append(f"{s.waived} waived")
    if report.lifecycle:
        extra.append(f"{s.new} new since the last run")
        extra.append(f"{s.resolved} resolved")
    console.print(counts)
    console.print(f"{s.total_open} open finding(s)" + (f"; {', '.join(extra)}" if extra else "") + ".")
    if s.priced_findings:
        console.print(Text(
            f"Estimated monthly cost of {s.priced_findings} priced finding(s): "
            f"{s.currency} {s.monthly_cost:,.2f}",
            style="bold",
        ))
    console.print()

    if not report.findings:
        console.print(Text("No findings. Nothing to fix.", style="green"))
        return
    table = Table(box=box.SIMPLE_HEAVY, show_lines=True, expand=True)
    table.add_column("Sev", no_wrap=True, width=8)
    table.add_column("Policy", no_wrap=True, width=8)
    table.add_column("Resource", ratio=3, overflow="fold")
    table.add_column("What is wrong", ratio=4)
    table.add_column("How to fix it", ratio=4)
    table.add_column(f"{s.currency}/month", justify="right", no_wrap=True, width=11)
    for f in report.findings[:MAX_ROWS]:
        table.add_row(*_row(report, f))
    console.print(table)
    hidden = len(report.findings) - MAX_ROWS
    if hidden > 0:
        console.print(f"...and {hidden} more finding(s): use --format html or json for the full list.")
    if report.expiring_waivers:
        console.print(Text(f"{len(report.expiring_waivers)} waiver(s) expire within a week:", style="yellow"))
        for w in report.expiring_waivers:
            console.print(f"  {w.get('policy', '?')} {w.get('resource', '?')} "
                          f"(owner {w.get('owner', '?')}, expires {w.get('expires', '?')})")
    prices = result.prices
    if prices and s.priced_findings:
        console.print(Text(
            f"Costs use reference list prices ({prices.currency}, region {prices.region}, {prices.path}); "
            "set `prices:` in the config for yours.",
            style="dim",
        ))
    console.print(Text("`mlgov policies show ID` explains a policy; --format html -o report.html "
                       "writes a report to share.", style="dim"))


def _row(report: Report, f: Finding) -> list[Text | str]:
    sev = Text(f.severity.value, style=_STYLE[f.severity])
    if f.status is FindingStatus.WAIVED:
        sev = Text("waived", style="dim")
    state = report.lifecycle.get(f.fingerprint)
    policy = Text(f.policy_id)
    if state in ("new", "reopened"):
        policy.append(f"\n{state}", style="bold")
    where = scope_label(report, f.scope_id)
    resource = Text(f.resource_name)
    if where and where != f.resource_name and f.resource_id.lower() != f.scope_id.lower():
        resource.append(f"\n{where}", style="dim")
    fix = f.remediation.summary if f.remediation else ""
    if f.status is FindingStatus.WAIVED and f.waiver:
        fix = f"Waived until {f.waiver.get('expires', '?')} by {f.waiver.get('owner', '?')}: " \
              f"{f.waiver.get('reason', '')}"
    cost = f"{f.cost.monthly:,.2f}" if f.cost else ""
    return [sev, policy, resource, f.message, fix, cost]
