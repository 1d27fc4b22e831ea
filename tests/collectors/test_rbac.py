"""The role assignment collector, through azure-mgmt-authorization 4.0 against recorded HTTP."""

from __future__ import annotations

from typing import Any

from azure_support import CASSETTES, RG, SUB_A, SUB_X, aml_id, dbx_id, make_config, make_context, played
from mlgov.collectors.rbac import applies_to, collect_role_assignments, definition_key, scope_kind_of
from mlgov.inventory import RoleAssignment, ScopeStatus
from mlgov.replay import replaying

WS = aml_id(SUB_A, RG, "mlw-alpha")
WS_X = aml_id(SUB_X, "rg-x", "mlw-x")
DBX = dbx_id(SUB_A, "rg-dbx", "dbw-analytics")
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"


def principal(n: int) -> str:
    return f"aaaaaaaa-0000-0000-0000-{n:012d}"


def collect(ids: list[str]) -> tuple[list[RoleAssignment], dict[str, ScopeStatus], Any]:
    ctx = make_context(make_config({"subscriptions": [SUB_A]}))
    with replaying(CASSETTES / "rbac.yaml") as cass:
        assignments, statuses = collect_role_assignments(ctx, ids)
    return assignments, {s.scope_id: s for s in statuses}, cass


def test_assignments_at_and_above_the_workspace_are_kept() -> None:
    """Of two pages of assignments, those at the workspace, its group, subscription and management group are kept;
    one on a compute below it and one on a sibling workspace are not."""
    assignments, statuses, _ = collect([WS])
    kept = {(a.principal_id, a.role_name, a.inherited) for a in assignments}
    assert kept == {
        (principal(1), "Owner", False),
        (principal(2), "Owner", True),
        (principal(3), "Owner", True),
        (principal(50), "Reader", True),
        (principal(60), "Contributor", True),
        (principal(9), "AzureML Data Scientist", False),
    }
    assert all(a.applies_to == WS for a in assignments)
    owner = next(a for a in assignments if a.principal_id == principal(1))
    assert (owner.principal_type, owner.role_type, owner.actions, owner.scope) == ("User", "BuiltInRole", ("*",), WS)
    assert owner.role_definition_id.endswith(OWNER)
    group = next(a for a in assignments if a.principal_id == principal(50))
    assert group.principal_type == "Group"
    assert statuses[WS].ok and statuses[WS].calls == 2  # two pages


def test_each_role_definition_is_read_once() -> None:
    """Owner assigned in two subscriptions (two definition ids, one GUID) is resolved by a single GET."""
    assignments, _, cass = collect([WS, WS_X])
    definition_gets = [r.path for r in played(cass) if "/roleDefinitions/" in r.path]
    assert len(definition_gets) == len(set(definition_gets)) == 5  # Owner, Reader, Contributor, Data Scientist, custom
    owners = [a for a in assignments if a.role_name == "Owner"]
    assert {a.applies_to for a in owners} == {WS, WS_X}


def test_a_role_definition_that_cannot_be_read_is_not_guessed() -> None:
    """An unreadable custom role leaves the role unnamed and marks the workspace's role assignments incomplete."""
    assignments, statuses, _ = collect([WS, WS_X])
    custom = next(a for a in assignments if a.principal_id == principal(11))
    assert (custom.role_name, custom.role_type, custom.actions) == (None, None, ())
    status = statuses[WS_X]
    assert (status.ok, status.family, status.scope_kind) == (False, "role_assignments", "aml_workspace")
    assert "cccccccc-0000-0000-0000-000000000001" in (status.error or "")
    assert statuses[WS].ok


def test_a_forbidden_databricks_workspace_is_a_failed_scope() -> None:
    """A 403 listing a Databricks workspace's assignments fails that scope only."""
    assignments, statuses, _ = collect([DBX, WS])
    status = statuses[DBX]
    assert (status.ok, status.scope_kind, status.family, status.status) == (
        False,
        "databricks_workspace",
        "role_assignments",
        403,
    )
    assert "roleAssignments/read" in (status.hint or "")
    assert statuses[WS].ok and assignments


def test_no_workspace_means_no_call() -> None:
    """An empty list of workspaces makes no request."""
    assignments, statuses, cass = collect([])
    assert (assignments, statuses, played(cass)) == ([], {}, [])


def test_applies_to_compares_path_segments() -> None:
    """Parents apply (case-insensitively), children and siblings sharing a prefix do not; management groups and
    the root apply to everything."""
    assert applies_to(WS, WS) and applies_to(WS.upper(), WS)
    assert applies_to(f"/subscriptions/{SUB_A}/resourcegroups/RG-ML", WS)
    assert applies_to("/", WS)
    assert applies_to("/providers/Microsoft.Management/managementGroups/root", WS)
    assert not applies_to(f"{WS}/computes/ci", WS)
    assert not applies_to(f"{WS}x", WS)
    assert not applies_to(f"/subscriptions/{SUB_X}", WS)


def test_helpers() -> None:
    """Definition keys are the GUID; Databricks ids are told from AML ones."""
    assert (
        definition_key(f"/subscriptions/{SUB_A}/providers/Microsoft.Authorization/roleDefinitions/{OWNER.upper()}")
        == OWNER
    )
    assert scope_kind_of(DBX) == "databricks_workspace" and scope_kind_of(WS) == "aml_workspace"
