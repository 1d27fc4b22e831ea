"""Waivers: accepted exceptions, each with a reason, an owner and a mandatory expiry date.

The waivers file (YAML, versioned):

```yaml
version: 1
waivers:
  - policy: CST-001                  # a policy id, or a glob such as CST-*
    resource: "databricks://adb-1.2.azuredatabricks.net/clusters/0101-*"   # glob, case-insensitive
    reason: Shared demo cluster, stopped by a nightly script
    owner: alice@example.com
    expires: 2027-01-31              # mandatory; the waiver holds through that day
    created: 2026-11-02              # optional
```

Rules: `expires` is at most `waivers.max_days` after `created` (or after today when `created`
is not given); an expired waiver may stay in the file (it no longer hides anything, and is
reported) but an expiry before `created` is an error. A policy must name (or match) a known
policy id; AUD-001 (unaudited scopes) cannot be waived. A waived finding stays in every report
with status `waived` and the waiver attached; it is not notified and does not count for
`--fail-on`.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mlgov.errors import WaiverError
from mlgov.findings import Finding, FindingStatus
from mlgov.yamlfile import read_yaml

WAIVERS_VERSION = 1
UNWAIVABLE = frozenset({"AUD-001"})
_EXAMPLE = "See the example at the top of `mlgov.waivers` (docs/waivers.md)."


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WaiverEntry(_Strict):
    """One entry of the waivers file."""

    policy: str = Field(min_length=1, max_length=64)
    resource: str = Field(min_length=1, max_length=2048)
    reason: str = Field(min_length=5, max_length=1000)
    owner: str = Field(min_length=1, max_length=200)
    expires: date
    created: date | None = None

    @field_validator("policy")
    @classmethod
    def _policy(cls, value: str) -> str:
        return value.strip().upper()

    @field_validator("resource", "reason", "owner")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class WaiversFile(_Strict):
    """The whole waivers file."""

    version: int
    waivers: list[WaiverEntry] = Field(default_factory=list)

    @field_validator("version")
    @classmethod
    def _version(cls, value: int) -> int:
        if value != WAIVERS_VERSION:
            raise ValueError(f"version {value} is not supported (this mlgov reads version {WAIVERS_VERSION})")
        return value


@dataclass(frozen=True, slots=True)
class Waiver:
    """A validated waiver."""

    index: int
    policy: str
    resource: str
    reason: str
    owner: str
    expires: date
    created: date | None = None

    @property
    def key(self) -> str:
        """Stable identity: policy, resource pattern and expiry (extending it makes a new waiver)."""
        text = f"{self.policy}|{self.resource.lower()}|{self.expires.isoformat()}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]

    def is_expired(self, today: date) -> bool:
        """True after the expiry date (a waiver holds through the day it expires)."""
        return today > self.expires

    def days_left(self, today: date) -> int:
        """Days until expiry (negative once expired)."""
        return (self.expires - today).days

    def matches(self, finding: Finding) -> bool:
        """True when the waiver's policy and resource patterns cover the finding."""
        return fnmatch.fnmatchcase(finding.policy_id.upper(), self.policy) and fnmatch.fnmatchcase(
            finding.resource_id.lower(), self.resource.lower()
        )

    def as_mapping(self) -> dict[str, str]:
        """What a waived finding carries (`Finding.waiver`)."""
        return {
            "policy": self.policy,
            "resource": self.resource,
            "reason": self.reason,
            "owner": self.owner,
            "expires": self.expires.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class WaiverSet:
    """The waivers of a file, in file order."""

    waivers: tuple[Waiver, ...] = ()
    source: str | None = None

    def __len__(self) -> int:
        return len(self.waivers)

    def __iter__(self) -> Iterator[Waiver]:
        return iter(self.waivers)

    def active(self, today: date) -> list[Waiver]:
        """Waivers that have not expired."""
        return [w for w in self.waivers if not w.is_expired(today)]

    def expired(self, today: date) -> list[Waiver]:
        """Waivers past their expiry date."""
        return [w for w in self.waivers if w.is_expired(today)]

    def expiring(self, today: date, within_days: int) -> list[Waiver]:
        """Active waivers that expire within `within_days` days."""
        return [w for w in self.active(today) if w.days_left(today) <= within_days]


@dataclass(frozen=True, slots=True)
class Applied:
    """Findings with waivers applied, and which waiver covered (or used to cover) what."""

    findings: tuple[Finding, ...]
    covered_by: dict[str, Waiver]
    """Fingerprint -> the active waiver that covers it."""
    expired_matches: dict[str, Waiver]
    """Fingerprint -> an expired waiver that would have covered it."""


def load_waivers(
    path: Path | str,
    *,
    catalogue: Iterable[str] | None = None,
    max_days: int = 180,
    today: date | None = None,
) -> WaiverSet:
    """Read and validate a waivers file. `catalogue` gives the known policy ids (a Catalogue works)."""
    p = Path(path)
    raw = read_yaml(p, WaiverError, what="waivers", missing_hint="Fix waivers.file in the config.",
                    syntax_hint=_EXAMPLE)
    return parse_waivers(raw, source=str(p), catalogue=catalogue, max_days=max_days, today=today)


def parse_waivers(
    raw: Any,
    *,
    source: str = "waivers",
    catalogue: Iterable[str] | None = None,
    max_days: int = 180,
    today: date | None = None,
) -> WaiverSet:
    """Validate an already parsed waivers document."""
    today = today or date.today()
    if raw is None:
        raw = {"version": WAIVERS_VERSION, "waivers": []}
    if not isinstance(raw, dict):
        raise WaiverError(f"{source}: a waivers file must be a YAML mapping, got {type(raw).__name__}", hint=_EXAMPLE)
    if "version" not in raw:
        raise WaiverError(f"{source}: version: missing required field", hint=f"Add `version: {WAIVERS_VERSION}`.")
    try:
        doc = WaiversFile.model_validate(raw)
    except ValidationError as exc:
        raise WaiverError(
            f"{source}: " + "; ".join(_describe(e) for e in exc.errors()),
            hint="Every waiver needs policy, resource, reason, owner and expires (YYYY-MM-DD). " + _EXAMPLE,
        ) from exc
    known = {k.upper() for k in catalogue} if catalogue is not None else None
    waivers: list[Waiver] = []
    for i, entry in enumerate(doc.waivers):
        where = f"{source}: waivers[{i}]"
        _check_policy(entry.policy, known, where)
        if entry.created is not None:
            if entry.created > today:
                raise WaiverError(f"{where}.created: {entry.created} is in the future")
            if entry.expires < entry.created:
                raise WaiverError(f"{where}.expires: {entry.expires} is before created ({entry.created})")
        start = entry.created or today
        if (entry.expires - start).days > max_days:
            raise WaiverError(
                f"{where}.expires: {entry.expires} is more than {max_days} days after "
                f"{'created' if entry.created else 'today'} ({start})",
                hint="Waivers are temporary: pick an earlier date and review the exception then, "
                "or raise waivers.max_days in the config.",
            )
        waivers.append(
            Waiver(
                index=i,
                policy=entry.policy,
                resource=entry.resource,
                reason=entry.reason,
                owner=entry.owner,
                expires=entry.expires,
                created=entry.created,
            )
        )
    return WaiverSet(waivers=tuple(waivers), source=source)


def apply_waivers(findings: Sequence[Finding], waivers: WaiverSet, today: date) -> Applied:
    """Mark findings covered by an active waiver as `waived` (first matching waiver wins).

    Findings of AUD-001 (status `error`) are never waived. A finding matched only by expired
    waivers keeps its status; it is listed in `expired_matches`.
    """
    active = waivers.active(today)
    expired = waivers.expired(today)
    out: list[Finding] = []
    covered: dict[str, Waiver] = {}
    expired_matches: dict[str, Waiver] = {}
    for f in findings:
        if f.status is FindingStatus.ERROR or f.policy_id in UNWAIVABLE:
            out.append(f)
            continue
        waiver = next((w for w in active if w.matches(f)), None)
        if waiver is not None:
            out.append(replace(f, status=FindingStatus.WAIVED, waiver=waiver.as_mapping()))
            covered[f.fingerprint] = waiver
            continue
        gone = next((w for w in expired if w.matches(f)), None)
        if gone is not None:
            expired_matches[f.fingerprint] = gone
        out.append(f if f.status is not FindingStatus.WAIVED else replace(f, status=FindingStatus.FAIL, waiver=None))
    return Applied(findings=tuple(out), covered_by=covered, expired_matches=expired_matches)


def _check_policy(pattern: str, known: set[str] | None, where: str) -> None:
    is_glob = any(c in pattern for c in "*?[")
    if not is_glob and pattern in UNWAIVABLE:
        raise WaiverError(
            f"{where}.policy: {pattern} (unaudited scope) cannot be waived",
            hint="Fix the access problem, or narrow the targets so that the scope is not audited.",
        )
    if known is None:
        return
    if is_glob:
        if not any(fnmatch.fnmatchcase(k, pattern) for k in known - UNWAIVABLE):
            raise WaiverError(
                f"{where}.policy: pattern {pattern!r} matches no known policy id",
                hint="Run `mlgov policies list` to see the ids.",
            )
    elif pattern not in known:
        raise WaiverError(
            f"{where}.policy: unknown policy id {pattern!r}",
            hint="Run `mlgov policies list` to see the ids.",
        )


def _describe(error: Any) -> str:
    loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.get("loc", ())).lstrip(".")
    msg = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    kind = error.get("type")
    if kind == "extra_forbidden":
        msg = "unknown field (check its spelling and indentation)"
    elif kind == "missing":
        msg = "missing required field"
        if loc.endswith(".expires"):
            msg += " (every waiver needs an expiry date, YYYY-MM-DD)"
    elif kind in ("date_from_datetime_parsing", "date_parsing", "date_type", "date_from_datetime_inexact"):
        msg = f"not a date ({msg}); write it as YYYY-MM-DD"
    return f"{loc or '(top level)'}: {msg}"
