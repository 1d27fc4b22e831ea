"""The bundled demo's Azure side: AML workspaces, registries and owners replayed through the real clients."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from mlgov.audit import AuditOptions, run_audit
from mlgov.context import AuditContext
from mlgov.demo import demo_dir
from mlgov.replay import StaticTokenCredential, fake_pat, replaying
from mlgov.runner import demo_config

SUB = "11111111-2222-3333-4444-555555555555"
DENIED = "66666666-7777-8888-9999-aaaaaaaaaaaa"
PROD = (
    f"/subscriptions/{SUB}/resourceGroups/rg-retail-ml-prod"
    "/providers/Microsoft.MachineLearningServices/workspaces/mlw-retail-forecast-prod"
)
AZURE_POLICIES = {
    "MLF-001",
    "MLF-002",
    "MLF-003",
    "EXP-001",
    "ACR-001",
    "ACR-002",
    "GIT-002",
    "CMP-002",
    "CST-002",
    "CST-003",
    "CST-004",
    "IAM-001",
    "AUD-001",
}


@pytest.fixture(scope="module")
def demo() -> Any:
    """One replayed demo audit (both cassettes), shared by the tests of this module."""
    mp = pytest.MonkeyPatch()
    mp.setenv("MLGOV_DEMO_TOKEN", fake_pat("demo-test"))
    mp.setenv("AZUREML_CURRENT_CLOUD", "AzureCloud")
    try:
        config = demo_config()
        ctx = AuditContext(config, azure_credential=StaticTokenCredential())
        with replaying(demo_dir() / "azure.yaml", demo_dir() / "databricks.yaml") as cass:
            result = run_audit(config, AuditOptions(), context=ctx)
            unplayed = [cass.data[i][0].uri for i in range(len(cass.data)) if i not in cass.play_counts]
    finally:
        mp.undo()
    return result, unplayed


def by_policy(result: Any) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = defaultdict(list)
    for f in result.evaluation.findings:
        found[f.policy_id].append(f)
    return found


def test_demo_azure_fragment_configures_two_subscriptions() -> None:
    """azure-config.yaml adds an `azure:` section with the sample and the forbidden subscription."""
    import yaml

    fragment = yaml.safe_load((demo_dir() / "azure-config.yaml").read_text(encoding="utf-8"))
    assert fragment == {"azure": {"cloud": "AzureCloud", "subscriptions": [SUB, DENIED]}}


def test_demo_replays_every_recorded_azure_call(demo: Any) -> None:
    """Every interaction of both demo cassettes is used, and only the two planned scopes fail."""
    result, unplayed = demo
    assert unplayed == []
    assert result.status == "partial"
    failed = {(s.scope_id, s.family, s.status) for s in result.snapshot.failed_scopes}
    assert (f"/subscriptions/{DENIED}", "*", 403) in failed
    assert len(failed) == 2  # and the Databricks sandbox's token management


def test_demo_fires_every_azure_policy(demo: Any) -> None:
    """Each Azure-side policy fires at least once on the sample tenant."""
    result, _ = demo
    assert set(by_policy(result)) >= AZURE_POLICIES


def test_demo_azure_findings_point_at_the_intended_objects(demo: Any) -> None:
    """The findings name the demo's story: which registry, compute, job and workspace."""
    found = by_policy(result := demo[0])
    names = {pid: {f.resource_name for f in fs} for pid, fs in found.items()}
    assert names["ACR-001"] == {"crretaildev"} and names["ACR-002"] == {"crretailprod"}
    assert names["CST-002"] == {"ci-dev-tom"}  # ci-dev-ana stops on a schedule, ci-forecast-maria when idle
    assert names["CST-003"] == {"cpu-cluster-prod"}
    assert "cpu-cluster-prod" in names["CST-004"] and "gpu-spot" not in names["CST-004"]
    assert names["IAM-001"] == {"mlw-retail-forecast-prod"}  # mlw-retail-dev has 3 user owners: a near miss
    assert "price-elasticity-08" in names["MLF-003"]
    assert "promo-uplift-2024" in names["EXP-001"]
    assert {"forecast-train-0411"} <= names["MLF-001"] and {"price-elasticity-07"} <= names["MLF-002"]
    dbx = {w.name: w for w in result.snapshot.databricks}
    assert dbx["contoso-analytics-prod"].arm_id is not None and dbx["contoso-analytics-prod"].pricing_tier == "premium"
    assert {r.applies_to for r in result.snapshot.role_assignments} >= {PROD}
