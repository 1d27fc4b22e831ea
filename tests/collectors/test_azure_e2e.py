"""`mlgov.audit` end to end on Azure: ARM discovery, AML, ACR, RBAC and a Databricks workspace found through ARM."""

from __future__ import annotations

from azure_support import CASSETTES, RG, SUB_A, SUB_X, aml_id, dbx_id, make_config, make_context, registry_id
from mlgov.audit import AuditOptions, collect, run_audit
from mlgov.replay import StaticTokenCredential, replaying

DBX_HOST = "adb-1111111111111111.11.azuredatabricks.net"
AML = aml_id(SUB_A, RG, "mlw-e2e")
DBX = dbx_id(SUB_A, "rg-dbx", "dbw-e2e")


def test_collect_reads_aml_and_a_databricks_workspace_found_through_arm() -> None:
    """One subscription's AML and Databricks workspaces are discovered and read; the Databricks one with Entra auth."""
    credential = StaticTokenCredential()
    ctx = make_context(make_config({"subscriptions": [SUB_A]}), credential=credential)
    with replaying(CASSETTES / "e2e.yaml") as cass:
        snapshot = collect(ctx, AuditOptions())
        assert cass.all_played
    assert snapshot.failed_scopes == ()
    (aml,) = snapshot.aml
    (dbx,) = snapshot.databricks
    assert (aml.resource_id, [j.name for j in aml.jobs], [c.name for c in aml.computes]) == (
        AML,
        ["job-e2e"],
        ["ci-e2e"],
    )
    assert (dbx.resource_id, dbx.arm_id, dbx.pricing_tier, dbx.location) == (
        f"databricks://{DBX_HOST}",
        DBX,
        "premium",
        "westeurope",
    )
    (registry,) = snapshot.registries
    assert registry.resource_id == registry_id(SUB_X, "rg-shared-acr", "crshared") and registry.used_by == (AML,)
    assert {(r.applies_to, r.role_name) for r in snapshot.role_assignments} == {(AML, "Owner"), (DBX, "Contributor")}
    assert snapshot.complete_subscriptions == (SUB_A,)
    # the Databricks workspace was read with an Entra token of the Azure Databricks resource
    assert set(credential.scopes_requested) == {
        "https://management.azure.com/.default",
        "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default",
    }


def test_run_audit_turns_the_collected_data_into_findings() -> None:
    """The expired token in a job and the Basic registry over 10 GiB become MLF-001 and ACR-001 findings."""
    ctx = make_context(make_config({"subscriptions": [SUB_A]}))
    with replaying(CASSETTES / "e2e.yaml"):
        result = run_audit(ctx.config, AuditOptions(), context=ctx)
    assert result.status == "success"
    fired = {f.policy_id for f in result.evaluation.findings}
    assert {"MLF-001", "ACR-001", "CMP-002"} <= fired
