"""CSV: one row per finding (resolved ones included), for spreadsheets.

Cells that a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, tab or
carriage return) are prefixed with `'`: resource names and messages come from the audited
tenant and must not run as formulas when a manager opens the file.
"""

from __future__ import annotations

import csv
import io
import json

from mlgov.codec import encode
from mlgov.findings import Finding
from mlgov.report import Report
from mlgov.report.overview import fix_of, ordered, status_of
from mlgov.report.summary import scope_label

COLUMNS = (
    "fingerprint",
    "status",
    "severity",
    "policy_id",
    "title",
    "workspace",
    "scope_id",
    "resource_kind",
    "resource_name",
    "resource_id",
    "message",
    "fix",
    "doc_url",
    "estimated_monthly_cost",
    "currency",
    "waiver_owner",
    "waiver_expires",
    "waiver_reason",
    "evidence",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A cell's text, defused against spreadsheet formula injection."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def render(report: Report) -> str:
    """The findings (then the resolved ones) as CSV text with a header row."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for f in ordered(report.findings):
        writer.writerow([safe_cell(v) for v in _row(report, f, status_of(report, f))])
    for f in ordered(report.resolved):
        writer.writerow([safe_cell(v) for v in _row(report, f, "resolved")])
    return buf.getvalue()


def _row(report: Report, f: Finding, status: str) -> list[object]:
    waiver = f.waiver or {}
    return [
        f.fingerprint,
        status,
        f.severity.value,
        f.policy_id,
        f.title,
        scope_label(report, f.scope_id),
        f.scope_id,
        f.resource_kind,
        f.resource_name,
        f.resource_id,
        f.message,
        fix_of(f),
        f.remediation.doc_url if f.remediation else "",
        f"{f.cost.monthly:.2f}" if f.cost else "",
        f.cost.currency if f.cost else "",
        waiver.get("owner", ""),
        waiver.get("expires", ""),
        waiver.get("reason", ""),
        json.dumps(encode(f.evidence), ensure_ascii=False, sort_keys=True) if f.evidence else "",
    ]
