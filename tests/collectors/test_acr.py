"""The container registry collector, through azure-mgmt-containerregistry against recorded HTTP."""

from __future__ import annotations

from typing import Any

from azure_support import CASSETTES, RG, SUB_A, SUB_X, aml_id, make_config, make_context, played, registry_id
from mlgov.collectors.acr import collect_registries
from mlgov.inventory import AmlWorkspace, ContainerRegistry, ScopeStatus
from mlgov.replay import replaying

GIB = 1024**3
SHARED = registry_id(SUB_X, "rg-shared-acr", "crshared")
BETA = registry_id(SUB_A, RG, "crbeta")
GONE = registry_id(SUB_A, RG, "crgone")
LOCKED = registry_id(SUB_A, "rg-locked", "crlocked")


def workspace(name: str, registry: str | None) -> AmlWorkspace:
    return AmlWorkspace(
        resource_id=aml_id(SUB_A, RG, name),
        name=name,
        subscription_id=SUB_A,
        resource_group=RG,
        location="westeurope",
        registry_id=registry,
    )


def collect(workspaces: list[AmlWorkspace]) -> tuple[dict[str, ContainerRegistry], dict[str, ScopeStatus], Any]:
    ctx = make_context(make_config({"subscriptions": [SUB_A]}))
    with replaying(CASSETTES / "acr.yaml") as cass:
        registries, statuses = collect_registries(ctx, workspaces)
    return ({r.name: r for r in registries}, {s.scope_id: s for s in statuses}, cass)


def test_a_shared_registry_in_another_subscription_is_read_once() -> None:
    """Two workspaces pointing at one registry (ids differing in case) cause one get and one listUsages, in the
    registry's own subscription."""
    regs, statuses, cass = collect([workspace("a", SHARED), workspace("b", SHARED.replace("rg-shared", "RG-Shared"))])
    shared = regs["crshared"]
    assert (shared.exists, shared.sku, shared.location) == (True, "Standard", "westeurope")
    assert (shared.size_bytes, shared.included_bytes) == (93 * GIB, 100 * GIB)
    assert shared.used_by == (aml_id(SUB_A, RG, "a"), aml_id(SUB_A, RG, "b"))
    assert [r.path for r in played(cass)] == [SHARED, f"{SHARED}/listUsages"]
    assert statuses[SHARED].ok and statuses[SHARED].calls == 2


def test_a_basic_registry_over_its_storage_is_recorded() -> None:
    """Size and the SKU's included storage come from listUsages' Size entry."""
    regs, _, _ = collect([workspace("c", BETA)])
    assert (regs["crbeta"].sku, regs["crbeta"].size_bytes, regs["crbeta"].included_bytes) == (
        "Basic",
        14 * GIB,
        10 * GIB,
    )


def test_a_deleted_registry_is_a_fact_not_a_failure() -> None:
    """A 404 records the registry as not existing, with an ok status and no usage call."""
    regs, statuses, cass = collect([workspace("d", GONE)])
    gone = regs["crgone"]
    assert (gone.exists, gone.sku, gone.size_bytes, gone.used_by) == (False, None, None, (aml_id(SUB_A, RG, "d"),))
    assert statuses[GONE].ok
    assert [r.path for r in played(cass)] == [GONE]


def test_a_forbidden_registry_is_a_failed_scope() -> None:
    """A 403 gives a failed registry scope with a hint and no record."""
    regs, statuses, _ = collect([workspace("e", LOCKED)])
    assert regs == {}
    status = statuses[LOCKED]
    assert (status.ok, status.scope_kind, status.family, status.status, status.code) == (
        False,
        "registry",
        "registry",
        403,
        "AuthorizationFailed",
    )
    assert "Grant Reader on the container registry" in (status.hint or "")


def test_workspaces_without_registry_need_no_call() -> None:
    """A workspace whose registry is not created yet is skipped without any request."""
    regs, statuses, cass = collect([workspace("f", None)])
    assert (regs, statuses, played(cass)) == ({}, {}, [])


def test_a_malformed_registry_id_is_reported() -> None:
    """A containerRegistry value that is not an ARM id becomes a failed scope, not a crash."""
    _, statuses, _ = collect([workspace("g", "not-an-id")])
    assert statuses["not-an-id"].ok is False
