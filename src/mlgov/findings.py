"""Findings: what a policy says about one resource, with why, how to fix it and what it costs."""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field


class Severity(enum.Enum):
    """How bad a finding is. `error` is reserved for scopes that could not be audited."""

    ERROR = "error"
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse; used for sorting and for `--fail-on`."""
        return _RANK[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Parse a severity name case-insensitively."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of: {names})") from None


_RANK = {
    Severity.ERROR: 6,
    Severity.CRITICAL: 5,
    Severity.HIGH: 4,
    Severity.MEDIUM: 3,
    Severity.LOW: 2,
    Severity.INFO: 1,
}


class FindingStatus(enum.Enum):
    """`fail`: the resource breaks the policy; `error`: the scope could not be audited;
    `waived`: it breaks the policy under a waiver that has not expired."""

    FAIL = "fail"
    ERROR = "error"
    WAIVED = "waived"


@dataclass(frozen=True, slots=True, kw_only=True)
class Remediation:
    """How to fix a finding: a summary, ordered steps, a CLI or portal path, a doc link."""

    summary: str
    steps: tuple[str, ...] = ()
    cli: str | None = None
    portal: str | None = None
    doc_url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CostEstimate:
    """An estimated monthly cost with the inputs of its formula, so anyone can redo the sum."""

    monthly: float
    currency: str
    formula: str
    inputs: Mapping[str, float | int | str]
    price_source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One policy breach on one resource (or one unaudited scope, for AUD-001)."""

    policy_id: str
    title: str
    severity: Severity
    status: FindingStatus
    resource_id: str
    resource_kind: str
    resource_name: str
    scope_id: str
    """The workspace (or subscription) the resource belongs to: the unit of resolution."""
    message: str
    sub_key: str | None = None
    evidence: Mapping[str, object] = field(default_factory=dict)
    remediation: Remediation | None = None
    cost: CostEstimate | None = None
    waiver: Mapping[str, str] | None = None
    """Reason, owner and expiry of the waiver that covers it, when status is `waived`."""

    @property
    def fingerprint(self) -> str:
        """Stable identity across runs: sha256 of policy id, resource id and sub-key."""
        return fingerprint(self.policy_id, self.resource_id, self.sub_key)


def fingerprint(policy_id: str, resource_id: str, sub_key: str | None = None) -> str:
    """sha256(policy id | lower-cased resource id | sub-key), hex."""
    parts = [policy_id.upper(), resource_id.strip().lower()]
    if sub_key:
        parts.append(sub_key)
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()


def sort_key(finding: Finding) -> tuple[int, str, str, str]:
    """Order: worst severity first, then policy, scope and resource."""
    return (-finding.severity.rank, finding.policy_id, finding.scope_id.lower(), finding.resource_id.lower())
