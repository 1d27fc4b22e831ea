"""The message model shared by every destination: what changed in a run, or what is still open.

A `Digest` is built per destination (after its filters) by `mlgov.lifecycle` and rendered by
`teams`, `webhook` or `slack` into the exact bytes that are stored in the outbox and posted.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from mlgov.findings import Finding, Severity, sort_key

DigestKind = Literal["changed", "reminder", "test"]
SECTION_TITLES = {
    "new": "New",
    "reopened": "Reopened",
    "resolved": "Resolved",
    "open": "Still open",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class WaiverEvent:
    """A waiver that has expired (and stopped hiding its findings) or expires soon."""

    event: Literal["waiver_expired", "waiver_expiring"]
    key: str
    policy: str
    resource: str
    owner: str
    reason: str
    expires: str
    """ISO date (the waiver holds through that day)."""
    days_left: int
    findings: int = 0
    """How many findings of this run it matches."""

    def as_dict(self) -> dict[str, str | int]:
        """A JSON-ready form (webhook body, reports)."""
        return {
            "event": self.event,
            "policy": self.policy,
            "resource": self.resource,
            "owner": self.owner,
            "reason": self.reason,
            "expires": self.expires,
            "days_left": self.days_left,
            "findings": self.findings,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Digest:
    """One message to one destination."""

    kind: DigestKind
    destination: str
    run_id: str
    run_status: str
    generated_at: datetime
    new: tuple[Finding, ...] = ()
    reopened: tuple[Finding, ...] = ()
    resolved: tuple[Finding, ...] = ()
    still_open: tuple[Finding, ...] = ()
    waiver_events: tuple[WaiverEvent, ...] = ()
    open_by_severity: Mapping[str, int] = field(default_factory=dict)
    """Open (not waived) findings of the run by severity, after the destination's filters."""
    waived: int = 0
    scope_names: Mapping[str, str] = field(default_factory=dict)
    """Lower-cased scope id -> workspace name, for grouping."""
    report_url: str | None = None
    target_label: str | None = None

    def sections(self) -> Iterator[tuple[str, tuple[Finding, ...]]]:
        """Non-empty sections in display order: new, reopened, resolved, still open."""
        for name, items in (
            ("new", self.new),
            ("reopened", self.reopened),
            ("resolved", self.resolved),
            ("open", self.still_open),
        ):
            if items:
                yield name, items

    @property
    def is_empty(self) -> bool:
        """True when there is nothing to say."""
        return not (self.new or self.reopened or self.resolved or self.still_open or self.waiver_events)

    def headline(self) -> str:
        """A one-line summary, e.g. `mlgov: 3 new, 1 resolved (12 open)`."""
        if self.kind == "test":
            return f"mlgov test message for destination {self.destination}"
        parts: list[str] = []
        if self.kind == "reminder":
            parts.append(f"{len(self.still_open)} finding(s) still open")
        else:
            for label, items in (("new", self.new), ("reopened", self.reopened), ("resolved", self.resolved)):
                if items:
                    parts.append(f"{len(items)} {label}")
        expired = sum(1 for w in self.waiver_events if w.event == "waiver_expired")
        expiring = len(self.waiver_events) - expired
        if expired:
            parts.append(f"{expired} waiver(s) expired")
        if expiring:
            parts.append(f"{expiring} waiver(s) expiring")
        total = sum(self.open_by_severity.values())
        prefix = "mlgov reminder" if self.kind == "reminder" else "mlgov"
        body = ", ".join(parts) or "no change"
        return f"{prefix}: {body} ({total} open)"

    def scope_name(self, scope_id: str) -> str:
        """The workspace name of a scope id, or a short form of the id."""
        return self.scope_names.get(scope_id.lower()) or short_scope(scope_id)


def short_scope(scope_id: str) -> str:
    """`databricks://host` -> host; an ARM id -> its last segment."""
    if scope_id.startswith("databricks://"):
        return scope_id[len("databricks://") :].split("/", 1)[0]
    tail = scope_id.rstrip("/").rsplit("/", 1)[-1]
    return tail or scope_id


def grouped(
    findings: Iterable[Finding], names: Mapping[str, str] | None = None
) -> list[tuple[Severity, str, list[Finding]]]:
    """Findings grouped by severity (worst first), then workspace name, each group sorted."""
    groups: dict[tuple[Severity, str], list[Finding]] = {}
    for f in sorted(findings, key=sort_key):
        name = (names or {}).get(f.scope_id.lower()) or short_scope(f.scope_id)
        groups.setdefault((f.severity, name), []).append(f)
    ordered = sorted(groups.items(), key=lambda kv: (-kv[0][0].rank, kv[0][1].lower()))
    return [(sev, name, items) for (sev, name), items in ordered]


def matches_any(value: str, patterns: Sequence[str]) -> bool:
    """Case-insensitive glob match against any pattern; an empty list matches everything."""
    if not patterns:
        return True
    low = value.lower()
    return any(fnmatch.fnmatchcase(low, p.lower()) for p in patterns)


def passes_filters(
    finding: Finding, *, min_severity: str, policies: Sequence[str], targets: Sequence[str]
) -> bool:
    """A destination's filters: severity at or above the minimum, policy and target globs."""
    if finding.severity.rank < Severity.parse(min_severity).rank:
        return False
    if not matches_any(finding.policy_id, policies):
        return False
    return not targets or matches_any(finding.scope_id, targets) or matches_any(finding.resource_id, targets)


def fix_text(finding: Finding) -> str:
    """The remediation summary of a finding, or an empty string."""
    return finding.remediation.summary if finding.remediation else ""


def clip(text: str, limit: int) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: max(0, limit - 1)].rstrip() + "…"
