"""Reading findings back from the state store (for `mlgov findings`)."""

from __future__ import annotations

import fnmatch
import sqlite3
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Literal

from mlgov.findings import sort_key
from mlgov.state.store import StoredFinding, row_to_finding, ts

StatusFilter = Literal["open", "resolved", "waived", "all"]


def state_of(stored: StoredFinding) -> str:
    """`open`, `waived` (open under a waiver when last seen) or `resolved`."""
    if stored.state == "resolved":
        return "resolved"
    return "waived" if stored.waived else "open"


def parse_since(text: str) -> str:
    """A date (YYYY-MM-DD, UTC midnight) or an ISO timestamp, as a stored timestamp string."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return ts(datetime(day.year, day.month, day.day, tzinfo=UTC))
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD) or an ISO timestamp") from None
    return ts(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def query_findings(
    conn: sqlite3.Connection,
    *,
    status: StatusFilter = "open",
    since: str | None = None,
    policies: Sequence[str] = (),
    workspace: str | None = None,
) -> list[StoredFinding]:
    """Findings matching the filters, worst first.

    `since` keeps findings that changed (first seen, reopened or resolved) at or after it;
    `policies` are ids or globs; `workspace` is a glob on the scope id, or a substring when it
    has no glob character; all matching is case-insensitive.
    """
    sql = "SELECT * FROM findings"
    args: list[str] = []
    if since:
        sql += " WHERE changed_at >= ?"
        args.append(since)
    out: list[StoredFinding] = []
    for row in conn.execute(sql, args):
        stored = row_to_finding(row)
        if status != "all" and state_of(stored) != status:
            continue
        f = stored.finding
        if policies and not any(fnmatch.fnmatchcase(f.policy_id.upper(), p.upper()) for p in policies):
            continue
        if workspace and not _workspace_matches(f.scope_id, workspace):
            continue
        out.append(stored)
    out.sort(key=lambda s: sort_key(s.finding))
    return out


def _workspace_matches(scope_id: str, pattern: str) -> bool:
    scope = scope_id.lower()
    pat = pattern.lower()
    if any(c in pat for c in "*?["):
        return fnmatch.fnmatchcase(scope, pat) or fnmatch.fnmatchcase(scope.rsplit("/", 1)[-1], pat)
    return pat in scope
