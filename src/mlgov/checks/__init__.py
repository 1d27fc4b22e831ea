"""Policy checks: pure functions of the snapshot, registered by policy id.

A check receives a `CheckContext` (the snapshot, its policy's parameters, the price book and
the evaluation time) and yields `Hit`s. It never calls an SDK and never reads a file. The
engine adds the policy's title, severity and remediation to each hit to make a `Finding`.

Scopes: a check declares, per plane it reads, the API families it needs
(`@check("CST-004", scopes={"databricks": ("jobs",), "aml": ("computes",)})`). Every hit
names the `scope_id` its resource belongs to, one of the scope ids of those planes, as listed
by `mlgov.engine.scopes_of_plane`:
- `databricks`: `databricks://<host>` of the workspace;
- `aml`: the AML workspace ARM id;
- `registry`: the registry ARM id;
- `rbac`: the ARM id of the workspace the assignment applies to;
- `audit`: the failed scope's id.
The state store resolves a finding only when its (policy, scope) was fully evaluated.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mlgov.findings import CostEstimate
from mlgov.prices import PriceBook
from mlgov.snapshot import Snapshot

PLANES = ("databricks", "aml", "registry", "rbac", "audit")
_CHECK_MODULES = ("mlgov.checks.databricks", "mlgov.checks.azure", "mlgov.checks.audit")


@dataclass(frozen=True, slots=True, kw_only=True)
class Hit:
    """One resource that breaks a policy, as a check sees it."""

    resource_id: str
    resource_kind: str
    resource_name: str
    scope_id: str
    message: str
    sub_key: str | None = None
    evidence: Mapping[str, object] = field(default_factory=dict)
    cost: CostEstimate | None = None


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What a check may read: the snapshot, its parameters, prices and the evaluation time."""

    snapshot: Snapshot
    params: Mapping[str, Any]
    prices: PriceBook
    now: datetime


CheckFn = Callable[[CheckContext], Iterable[Hit]]


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """A registered check: its policy id, the families it reads per plane, and the function."""

    policy_id: str
    scopes: Mapping[str, tuple[str, ...]]
    fn: CheckFn

    @property
    def is_audit(self) -> bool:
        """True for the check that reports unaudited scopes (its findings have status `error`)."""
        return "audit" in self.scopes


_REGISTRY: dict[str, CheckSpec] = {}
_LOADED = False


def check(policy_id: str, *, scopes: Mapping[str, tuple[str, ...]]) -> Callable[[CheckFn], CheckFn]:
    """Register `fn` as the check of `policy_id`.

    `scopes` maps each plane the check reads to the API families it needs there (e.g.
    `{"databricks": ("jobs",)}`); a scope where one of them failed is not evaluated by this
    check: its hits there are dropped and its earlier findings are kept open.
    """
    unknown = set(scopes) - set(PLANES)
    if unknown or not scopes:
        raise ValueError(f"bad planes {sorted(unknown)} for {policy_id}")

    def register(fn: CheckFn) -> CheckFn:
        if policy_id in _REGISTRY and _REGISTRY[policy_id].fn is not fn:
            raise ValueError(f"a check is already registered for {policy_id}")
        _REGISTRY[policy_id] = CheckSpec(policy_id=policy_id, scopes=dict(scopes), fn=fn)
        return fn

    return register


def registry() -> Mapping[str, CheckSpec]:
    """Every registered check by policy id (imports the check modules once)."""
    global _LOADED
    if not _LOADED:
        for name in _CHECK_MODULES:
            try:
                importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name != name:
                    raise
        _LOADED = True
    return _REGISTRY
