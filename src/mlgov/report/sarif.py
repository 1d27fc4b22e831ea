"""SARIF 2.1.0: one rule per policy, one result per finding, for GitHub code scanning and SARIF viewers.

Cloud resources are not files, but GitHub code scanning needs a physical location on every
result. Each result therefore carries:
- a `logicalLocation` with the resource id as `fullyQualifiedName` (the real identity), and
- a `physicalLocation` whose artifact URI is the resource id turned into a relative path
  (`subscriptions/.../workspaces/mlw` or `databricks/<host>/clusters/<id>`), under the
  `uriBaseId` `MLGOV_RESOURCES`, with line 1 as its region.
`partialFingerprints.primaryLocationLineHash` is the finding's fingerprint, so an alert keeps
its identity across runs. Waived findings carry an accepted external suppression with the
waiver's reason; rules carry `security-severity` for GitHub's severity display.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from mlgov import __version__
from mlgov.codec import encode, format_time
from mlgov.findings import Finding, FindingStatus, Severity
from mlgov.report import Report

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
URI_BASE = "MLGOV_RESOURCES"
_LEVEL = {
    Severity.ERROR: "error",
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub: > 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.1",
}


def artifact_uri(resource_id: str) -> str:
    """A relative, percent-encoded path for a resource id (ARM or `databricks://`)."""
    text = resource_id.strip()
    if "://" in text:
        scheme, rest = text.split("://", 1)
        text = f"{scheme}/{rest}"
    parts = [p for p in text.split("/") if p]
    return "/".join(quote(p, safe="-._~@:") for p in parts) or "unknown"


def render(report: Report) -> str:
    """The report as a SARIF 2.1.0 log (JSON text)."""
    findings = list(report.findings)
    rules, index = _rules(findings)
    result = report.result
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "mlgov",
                "semanticVersion": __version__,
                "rules": rules,
            }
        },
        "automationDetails": {"id": f"mlgov/{format_time(result.started_at)}"},
        "originalUriBaseIds": {
            URI_BASE: {
                "description": {
                    "text": "Cloud resources (Azure Resource Manager ids and databricks:// objects) audited by mlgov; "
                    "paths are resource ids, not files."
                }
            }
        },
        "invocations": [
            {
                "executionSuccessful": result.status != "error",
                "startTimeUtc": format_time(result.started_at),
                "endTimeUtc": format_time(report.generated_at),
                "properties": {"status": result.status},
            }
        ],
        "results": [_result(f, index[f.policy_id], report.lifecycle.get(f.fingerprint)) for f in findings],
        "properties": {"target": report.target_label, "resolved": [f.fingerprint for f in report.resolved]},
    }
    log = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _rules(findings: list[Finding]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    by_policy: dict[str, Finding] = {}
    for f in findings:
        current = by_policy.get(f.policy_id)
        if current is None or f.severity.rank > current.severity.rank:
            by_policy[f.policy_id] = f
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for i, (policy_id, f) in enumerate(sorted(by_policy.items())):
        index[policy_id] = i
        rem = f.remediation
        help_lines = [rem.summary] if rem else ["See the policy: `mlgov policies show " + policy_id + "`."]
        if rem:
            help_lines += [f"{n}. {step}" for n, step in enumerate(rem.steps, 1)]
            if rem.cli:
                help_lines.append(f"CLI: {rem.cli.strip()}")
            if rem.portal:
                help_lines.append(f"Portal: {rem.portal.strip()}")
        markdown = [f"**{rem.summary}**" if rem else help_lines[0]]
        if rem:
            markdown += [f"{n}. {step}" for n, step in enumerate(rem.steps, 1)]
            if rem.cli:
                markdown.append(f"\n```\n{rem.cli.strip()}\n```")
            if rem.doc_url:
                markdown.append(f"\n[Documentation]({rem.doc_url})")
        props: dict[str, Any] = {
            "tags": ["mlgov", "audit-coverage" if f.severity is Severity.ERROR else "governance"],
            "precision": "high",
            "problem.severity": _LEVEL[f.severity] if f.severity is not Severity.LOW else "recommendation",
        }
        if f.severity in _SECURITY_SEVERITY:
            props["security-severity"] = _SECURITY_SEVERITY[f.severity]
            props["tags"].append("security")
        rule: dict[str, Any] = {
            "id": policy_id,
            "name": _pascal(f.title) or policy_id.replace("-", ""),
            "shortDescription": {"text": f.title},
            "fullDescription": {"text": f"{f.title}. Resource kind: {f.resource_kind}."},
            "help": {"text": "\n".join(help_lines), "markdown": "\n".join(markdown)},
            "defaultConfiguration": {"level": _LEVEL[f.severity]},
            "properties": props,
        }
        if rem and rem.doc_url:
            rule["helpUri"] = rem.doc_url
        rules.append(rule)
    return rules, index


def _result(f: Finding, rule_index: int, lifecycle: str | None) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "severity": f.severity.value,
        "status": f.status.value,
        "scope": f.scope_id,
        "resourceKind": f.resource_kind,
        "evidence": encode(f.evidence),
    }
    if lifecycle:
        properties["lifecycle"] = lifecycle
    if f.cost is not None:
        properties["estimatedMonthlyCost"] = {
            "amount": round(f.cost.monthly, 2),
            "currency": f.cost.currency,
            "formula": f.cost.formula,
            "priceSource": f.cost.price_source,
        }
    fix = f" Fix: {f.remediation.summary}" if f.remediation else ""
    out: dict[str, Any] = {
        "ruleId": f.policy_id,
        "ruleIndex": rule_index,
        "level": _LEVEL[f.severity],
        "message": {"text": f"{f.resource_name}: {f.message}{fix}"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": artifact_uri(f.resource_id), "uriBaseId": URI_BASE},
                    "region": {"startLine": 1},
                },
                "logicalLocations": [
                    {"fullyQualifiedName": f.resource_id, "name": f.resource_name, "kind": "resource"}
                ],
            }
        ],
        "partialFingerprints": {"primaryLocationLineHash": f.fingerprint},
        "fingerprints": {"mlgov/v1": f.fingerprint},
        "properties": properties,
    }
    if f.status is FindingStatus.WAIVED and f.waiver:
        w = f.waiver
        out["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": (
                    f"{w.get('reason', '')} (owner {w.get('owner', '?')}, expires {w.get('expires', '?')})"
                ),
            }
        ]
    return out


def _pascal(text: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in text).split()
    return "".join(w[:1].upper() + w[1:] for w in words)[:100]
