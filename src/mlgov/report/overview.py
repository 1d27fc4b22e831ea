"""Groupings shared by the CSV, Markdown and HTML reports: by workspace, prices used, waivers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from mlgov.findings import Finding, FindingStatus, Severity, sort_key
from mlgov.report import Report
from mlgov.report.summary import scope_label

SEVERITIES = tuple(sorted(Severity, key=lambda s: -s.rank))


@dataclass
class WorkspaceRow:
    """Open findings of one workspace (scope) by severity, with their estimated monthly cost."""

    scope_id: str
    label: str
    counts: dict[Severity, int] = field(default_factory=lambda: dict.fromkeys(SEVERITIES, 0))
    waived: int = 0
    cost: float = 0.0

    @property
    def open(self) -> int:
        """Open findings in this workspace."""
        return sum(self.counts.values())


def by_workspace(report: Report) -> list[WorkspaceRow]:
    """One row per scope that has findings, worst first (then by name)."""
    rows: dict[str, WorkspaceRow] = {}
    for f in report.findings:
        key = f.scope_id.lower()
        row = rows.setdefault(key, WorkspaceRow(scope_id=f.scope_id, label=scope_label(report, f.scope_id)))
        if f.status is FindingStatus.WAIVED:
            row.waived += 1
            continue
        row.counts[f.severity] += 1
        if f.cost is not None:
            row.cost += f.cost.monthly
    return sorted(
        rows.values(), key=lambda r: (tuple(-r.counts[s] for s in SEVERITIES), -r.cost, r.label.lower())
    )


def price_sources(report: Report) -> list[str]:
    """Where the prices used come from: the price book and every distinct source named by a finding."""
    out: list[str] = []
    prices = report.result.prices
    if prices is not None:
        out.append(f"price book {prices.path} ({prices.currency}, region {prices.region})")
    for f in report.findings:
        if f.cost is not None and f.cost.price_source not in out:
            out.append(f.cost.price_source)
    return out


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Findings worst first, then policy, scope, resource."""
    return sorted(findings, key=sort_key)


def fix_of(f: Finding) -> str:
    """The remediation summary, or a pointer to the policy."""
    return f.remediation.summary if f.remediation else f"see `mlgov policies show {f.policy_id}`"


def status_of(report: Report, f: Finding) -> str:
    """`waived`, `error`, or the lifecycle (`new`, `open`, `reopened`), else `fail`."""
    if f.status is FindingStatus.WAIVED:
        return "waived"
    if f.status is FindingStatus.ERROR:
        return "error"
    return report.lifecycle.get(f.fingerprint, "fail")
