"""The policy engine: run the registered checks over a snapshot and build findings.

`evaluate` is a pure function of its inputs. Besides the findings it returns the coverage:
which (policy, scope) pairs were fully evaluated, so that the state store resolves a finding
only where the run could actually see that it is gone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlgov.catalogue import Catalogue, Policy, check_parameter_value
from mlgov.checks import CheckContext, CheckSpec, Hit, registry
from mlgov.errors import ConfigError
from mlgov.findings import Finding, FindingStatus, Severity, sort_key
from mlgov.prices import PriceBook
from mlgov.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class PolicySettings:
    """What the config says about policies: disabled ids, parameters, severity overrides."""

    disabled: frozenset[str] = frozenset()
    parameters: Mapping[str, Mapping[str, Any]] | None = None
    severities: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Findings of a run plus the (policy id, lower-cased scope id) pairs fully evaluated."""

    findings: tuple[Finding, ...]
    coverage: frozenset[tuple[str, str]]
    policies: tuple[str, ...]


def resolve_parameters(policy: Policy, settings: PolicySettings) -> dict[str, Any]:
    """Defaults of the policy overlaid with the config's values, each checked against its spec."""
    values = policy.defaults()
    overrides = (settings.parameters or {}).get(policy.id, {})
    for name, value in overrides.items():
        spec = policy.spec.parameters.get(name)
        if spec is None:
            known = ", ".join(policy.spec.parameters) or "none"
            raise ConfigError(
                f"policies.parameters.{policy.id}.{name}: {policy.id} has no parameter {name!r}",
                hint=f"Parameters of {policy.id}: {known}. See `mlgov policies show {policy.id}`.",
            )
        try:
            check_parameter_value(spec, value)
        except ValueError as exc:
            raise ConfigError(
                f"policies.parameters.{policy.id}.{name}: {exc}",
                hint=f"See `mlgov policies show {policy.id}` for the parameter's type and bounds.",
            ) from exc
        values[name] = value
    return values


def validate_settings(catalogue: Catalogue, settings: PolicySettings) -> None:
    """Raise ConfigError if the settings name unknown policies or bad parameter values."""
    named = set(settings.disabled) | set(settings.parameters or {}) | set(settings.severities or {})
    unknown = sorted(named - set(catalogue))
    if unknown:
        raise ConfigError(
            f"policies: unknown policy id(s) {', '.join(unknown)}",
            hint="Run `mlgov policies list` to see the ids this version knows.",
        )
    for policy_id, sev in (settings.severities or {}).items():
        try:
            Severity.parse(sev)
        except ValueError as exc:
            raise ConfigError(f"policies.severity.{policy_id}: {exc}") from exc
    for policy in catalogue.values():
        resolve_parameters(policy, settings)


def scopes_of_plane(snapshot: Snapshot, plane: str) -> Iterable[str]:
    """The scope ids a check of `plane` evaluates (see `mlgov.checks` for the convention)."""
    if plane == "databricks":
        return [w.resource_id for w in snapshot.databricks]
    if plane == "aml":
        return [w.resource_id for w in snapshot.aml]
    if plane == "registry":
        return [r.resource_id for r in snapshot.registries]
    if plane == "rbac":
        ids = [w.resource_id for w in snapshot.aml]
        ids += [w.arm_id for w in snapshot.databricks if w.arm_id]
        return ids
    if plane == "audit":
        return sorted({s.scope_id for s in snapshot.scopes})
    raise ValueError(f"unknown plane {plane!r}")


def evaluate(
    snapshot: Snapshot,
    catalogue: Catalogue,
    prices: PriceBook,
    settings: PolicySettings | None = None,
    *,
    only: Iterable[str] | None = None,
    now: datetime | None = None,
) -> Evaluation:
    """Run every enabled check (or only the given ids) and return findings and coverage.

    `now` defaults to the snapshot's time, so that evaluating a saved snapshot again gives
    the same answer it gave when it was taken.
    """
    settings = settings or PolicySettings()
    checks = registry()
    when = now or snapshot.taken_at
    selected = _select(catalogue, settings, only)
    findings: list[Finding] = []
    coverage: set[tuple[str, str]] = set()
    for policy in selected:
        spec = checks[policy.id]
        params = resolve_parameters(policy, settings)
        severity = Severity.parse((settings.severities or {}).get(policy.id, policy.spec.severity))
        complete = {
            s.lower()
            for plane, families in spec.scopes.items()
            for s in scopes_of_plane(snapshot, plane)
            if plane == "audit" or snapshot.is_complete(s, families)
        }
        coverage.update((policy.id, s) for s in complete)
        ctx = CheckContext(snapshot=snapshot, params=params, prices=prices, now=when)
        for hit in spec.fn(ctx):
            if not spec.is_audit and hit.scope_id.lower() not in complete:
                continue
            findings.append(_finding(policy, spec, severity, hit))
    findings.sort(key=sort_key)
    return Evaluation(
        findings=tuple(findings), coverage=frozenset(coverage), policies=tuple(p.id for p in selected)
    )


def _select(catalogue: Catalogue, settings: PolicySettings, only: Iterable[str] | None) -> list[Policy]:
    wanted = None
    if only is not None:
        wanted = {p.strip().upper() for p in only}
        unknown = sorted(wanted - set(catalogue))
        if unknown:
            from mlgov.errors import UsageError

            raise UsageError(
                f"unknown policy id(s): {', '.join(unknown)}",
                hint="Run `mlgov policies list` to see the available ids.",
            )
    return [
        p
        for pid, p in catalogue.items()
        if (wanted is None or pid in wanted) and pid not in settings.disabled
    ]


def _finding(policy: Policy, spec: CheckSpec, severity: Severity, hit: Hit) -> Finding:
    status = FindingStatus.ERROR if spec.is_audit else FindingStatus.FAIL
    return Finding(
        policy_id=policy.id,
        title=policy.spec.title,
        severity=severity,
        status=status,
        resource_id=hit.resource_id,
        resource_kind=hit.resource_kind,
        resource_name=hit.resource_name,
        scope_id=hit.scope_id,
        message=hit.message,
        sub_key=hit.sub_key,
        evidence=dict(hit.evidence),
        remediation=policy.remediation,
        cost=hit.cost,
    )
