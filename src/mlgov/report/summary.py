"""Figures every report format shows: counts by severity and status, total estimated cost."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from mlgov.findings import Finding, FindingStatus, Severity
from mlgov.report import Report


@dataclass(frozen=True, slots=True)
class Summary:
    """Counts and money for the header of a report."""

    open_by_severity: dict[str, int]
    waived: int
    new: int
    resolved: int
    total_open: int
    monthly_cost: float
    priced_findings: int
    currency: str
    scopes_total: int
    scopes_failed: int
    databricks_workspaces: int
    aml_workspaces: int
    registries: int
    subscriptions: int


def is_open(finding: Finding) -> bool:
    """A finding that counts: failing or unaudited, not waived."""
    return finding.status is not FindingStatus.WAIVED


def summarise(report: Report) -> Summary:
    """Compute the summary of a report."""
    findings = report.findings
    open_findings = [f for f in findings if is_open(f)]
    counts = Counter(f.severity for f in open_findings)
    priced = [f for f in open_findings if f.cost is not None]
    currency = report.result.prices.currency if report.result.prices else "USD"
    snap = report.result.snapshot
    scope_ids = {s.scope_id.lower() for s in snap.scopes}
    failed_ids = {s.scope_id.lower() for s in snap.scopes if not s.ok}
    return Summary(
        open_by_severity={s.value: counts.get(s, 0) for s in Severity},
        waived=sum(1 for f in findings if f.status is FindingStatus.WAIVED),
        new=sum(1 for v in report.lifecycle.values() if v == "new"),
        resolved=len(report.resolved),
        total_open=len(open_findings),
        monthly_cost=round(sum(f.cost.monthly for f in priced if f.cost), 2),
        priced_findings=len(priced),
        currency=currency,
        scopes_total=len(scope_ids),
        scopes_failed=len(failed_ids),
        databricks_workspaces=len(snap.databricks),
        aml_workspaces=len(snap.aml),
        registries=sum(1 for r in snap.registries if r.exists),
        subscriptions=len(snap.subscriptions),
    )


def scope_label(report: Report, scope_id: str) -> str:
    """A short human name for a scope id (workspace name when known)."""
    snap = report.result.snapshot
    key = scope_id.lower()
    for w in snap.databricks:
        if w.resource_id.lower() == key or (w.arm_id and w.arm_id.lower() == key):
            return w.name
    for a in snap.aml:
        if a.resource_id.lower() == key:
            return a.name
    for r in snap.registries:
        if r.resource_id.lower() == key:
            return r.name
    if key.startswith("/subscriptions/") and key.count("/") == 2:
        return "subscription " + scope_id.rsplit("/", 1)[-1]
    return scope_id.rsplit("/", 1)[-1] or scope_id
