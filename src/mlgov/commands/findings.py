"""`mlgov findings`: what the state store knows (open, waived, resolved), filtered."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

EPILOG = """\
examples:
  mlgov findings --config mlgov.yaml                       open findings (not waived)
  mlgov findings --state mlgov-state.db --status resolved --since 2026-11-01
  mlgov findings --config mlgov.yaml --policy 'CST-*' --workspace 'adb-123*' --format csv

--since keeps findings first seen, reopened or resolved on or after the date (UTC).
--workspace is a glob on the workspace (scope) id or its last segment, or a substring.
"""


def register(subparsers: Any) -> None:
    """Add the `findings` sub-command."""
    p = subparsers.add_parser(
        "findings",
        help="list findings from the state store (open, waived, resolved)",
        description="Read the state store written by `mlgov audit`: every finding with when it was first "
        "and last seen, resolved or reopened. Reads only; never contacts a workspace.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", "-c", type=Path, metavar="FILE", help="configuration file (for state.path)")
    p.add_argument("--state", type=Path, metavar="FILE", help="state store file (default: state.path of the config)")
    p.add_argument("--status", choices=("open", "resolved", "waived", "all"), default="open")
    p.add_argument("--since", metavar="DATE", help="changed on or after DATE (YYYY-MM-DD or ISO timestamp)")
    p.add_argument("--policy", "-p", action="append", default=[], metavar="ID", help="policy id or glob (repeatable)")
    p.add_argument("--workspace", "-w", metavar="PATTERN", help="workspace (scope id) glob or substring")
    p.add_argument("--format", "-f", choices=("table", "json", "csv"), default="table")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Carry out `mlgov findings`."""
    import sys

    from mlgov.errors import UsageError
    from mlgov.state.query import parse_since, query_findings
    from mlgov.state.store import open_readonly

    path = args.state
    if path is None:
        if args.config is not None:
            from mlgov.config import load_config

            path = Path(load_config(args.config).state.path)
        else:
            from mlgov.config import StateConfig

            path = Path(StateConfig().path)
    since = None
    if args.since:
        try:
            since = parse_since(args.since)
        except ValueError as exc:
            raise UsageError(f"--since: {exc}") from exc
    conn = open_readonly(path)
    try:
        found = query_findings(
            conn, status=args.status, since=since, policies=args.policy, workspace=args.workspace
        )
    finally:
        conn.close()
    out = sys.stdout
    if args.format == "json":
        out.write(_json(found, path, args.status))
    elif args.format == "csv":
        out.write(_csv(found))
    else:
        out.write(_table(found, path, args.status))
    return 0


def _record(stored: Any) -> dict[str, Any]:
    from mlgov.codec import encode
    from mlgov.state.query import state_of

    f = stored.finding
    return {
        "fingerprint": f.fingerprint,
        "state": state_of(stored),
        "severity": f.severity.value,
        "policy_id": f.policy_id,
        "title": f.title,
        "scope_id": f.scope_id,
        "resource": {"id": f.resource_id, "kind": f.resource_kind, "name": f.resource_name},
        "message": f.message,
        "first_seen": stored.first_seen,
        "last_seen": stored.last_seen,
        "resolved_at": stored.resolved_at,
        "times_reopened": stored.times_reopened,
        "fix": f.remediation.summary if f.remediation else None,
        "estimated_monthly_cost": encode(f.cost) if f.cost else None,
        "waiver": dict(f.waiver) if f.waiver else None,
        "evidence": encode(f.evidence),
    }


def _json(found: list[Any], path: Path, status: str) -> str:
    import json

    body = {
        "kind": "mlgov.findings",
        "schema_version": 1,
        "store": str(path),
        "status": status,
        "count": len(found),
        "findings": [_record(s) for s in found],
    }
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


CSV_COLUMNS = (
    "fingerprint", "state", "severity", "policy_id", "title", "scope_id", "resource_kind", "resource_name",
    "resource_id", "message", "first_seen", "last_seen", "resolved_at", "times_reopened", "fix",
    "estimated_monthly_cost", "currency", "waiver_owner", "waiver_expires",
)


def _csv(found: list[Any]) -> str:
    import csv
    import io

    from mlgov.report.csv_report import safe_cell

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for stored in found:
        r = _record(stored)
        cost = r["estimated_monthly_cost"] or {}
        waiver = r["waiver"] or {}
        values = [
            r["fingerprint"], r["state"], r["severity"], r["policy_id"], r["title"], r["scope_id"],
            r["resource"]["kind"], r["resource"]["name"], r["resource"]["id"], r["message"], r["first_seen"],
            r["last_seen"], r["resolved_at"], r["times_reopened"], r["fix"],
            f"{cost['monthly']:.2f}" if cost else "", cost.get("currency", ""),
            waiver.get("owner", ""), waiver.get("expires", ""),
        ]
        writer.writerow([safe_cell(v) for v in values])
    return buf.getvalue()


def _table(found: list[Any], path: Path, status: str) -> str:
    from mlgov.delivery.digest import clip, short_scope

    if not found:
        label = "" if status == "all" else f"{status} "
        return f"No {label}findings in {path}.\n"
    headers = ("SEVERITY", "STATE", "POLICY", "WORKSPACE", "RESOURCE", "FIRST SEEN", "CHANGED", "MESSAGE")
    rows = []
    for stored in found:
        r = _record(stored)
        rows.append((
            r["severity"], r["state"], r["policy_id"], clip(short_scope(r["scope_id"]), 28),
            clip(r["resource"]["name"], 28), r["first_seen"][:10], stored.changed_at[:10], clip(r["message"], 60),
        ))
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    lines.append("")
    lines.append(f"{len(found)} finding(s), status {status}, from {path}.")
    return "\n".join(lines) + "\n"
