"""The JSON report: a versioned envelope with the run, a summary and every finding."""

from __future__ import annotations

import json
from typing import Any

from mlgov import __version__
from mlgov.codec import encode, format_time
from mlgov.findings import Finding
from mlgov.report import Report
from mlgov.report.summary import summarise

KIND = "mlgov.report"
SCHEMA_VERSION = 1


def finding_dict(f: Finding, lifecycle: str | None = None) -> dict[str, Any]:
    """One finding as the JSON report (and the webhook body) shows it."""
    return {
        "fingerprint": f.fingerprint,
        "policy_id": f.policy_id,
        "title": f.title,
        "severity": f.severity.value,
        "status": f.status.value,
        "lifecycle": lifecycle,
        "resource": {"id": f.resource_id, "kind": f.resource_kind, "name": f.resource_name},
        "scope_id": f.scope_id,
        "sub_key": f.sub_key,
        "message": f.message,
        "evidence": encode(f.evidence),
        "remediation": encode(f.remediation) if f.remediation else None,
        "estimated_monthly_cost": encode(f.cost) if f.cost else None,
        "waiver": dict(f.waiver) if f.waiver else None,
    }


def envelope(report: Report) -> dict[str, Any]:
    """The report as a JSON-ready dict."""
    result = report.result
    s = summarise(report)
    prices = result.prices
    return {
        "kind": KIND,
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "mlgov", "version": __version__},
        "generated_at": format_time(report.generated_at),
        "run": {
            "status": result.status,
            "started_at": format_time(result.started_at),
            "duration_seconds": round(result.duration_seconds, 3),
            "api_calls": dict(result.api_calls),
            "snapshot_taken_at": format_time(result.snapshot.taken_at),
            "policies": list(result.evaluation.policies),
            "target": report.target_label,
        },
        "summary": {
            "open_by_severity": s.open_by_severity,
            "open": s.total_open,
            "waived": s.waived,
            "new": s.new,
            "resolved": s.resolved,
            "estimated_monthly_cost": {"amount": s.monthly_cost, "currency": s.currency,
                                       "priced_findings": s.priced_findings},
            "scopes": {"total": s.scopes_total, "failed": s.scopes_failed},
            "inventory": {
                "databricks_workspaces": s.databricks_workspaces,
                "aml_workspaces": s.aml_workspaces,
                "registries": s.registries,
                "subscriptions": s.subscriptions,
                "objects": result.snapshot.object_count(),
            },
        },
        "prices": None if prices is None else {
            "file": prices.path, "region": prices.region, "currency": prices.currency,
            "sources": dict(prices.data.sources),
        },
        "failed_scopes": [encode(sc) for sc in result.snapshot.failed_scopes],
        "findings": [finding_dict(f, report.lifecycle.get(f.fingerprint)) for f in report.findings],
        "resolved": [finding_dict(f, "resolved") for f in report.resolved],
        "expiring_waivers": [dict(w) for w in report.expiring_waivers],
    }


def render(report: Report) -> str:
    """Pretty-printed JSON, one trailing newline."""
    return json.dumps(envelope(report), indent=2, ensure_ascii=False) + "\n"
