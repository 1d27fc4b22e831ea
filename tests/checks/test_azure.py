"""Tests of the Azure checks (mlgov.checks.azure), evaluated through the policy engine."""

from __future__ import annotations

import json

import pytest
from azure_builders import (
    AZURE_IDS,
    CONTRIBUTOR_DEF,
    OTHER_SUB,
    SUB,
    aml_workspace,
    assignment,
    azure_catalogue,
    azureml_uri,
    compute_cluster,
    compute_id,
    compute_instance,
    databricks_workspace,
    failed,
    findings,
    job,
    known,
    registry,
    run,
    snapshot,
    uri_sighting,
    ws_id,
)

from mlgov.catalogue import check_planes, load_catalogue
from mlgov.checks import registry as check_registry
from mlgov.engine import evaluate
from mlgov.errors import ConfigError
from mlgov.findings import Finding, fingerprint
from mlgov.inventory import AmlJob, AmlWorkspace, RoleAssignment
from mlgov.prices import load_prices
from mlgov.snapshot import from_dict as snapshot_from_dict
from mlgov.snapshot import to_dict as snapshot_to_dict

# ---------------------------------------------------------------------------------------------
# The policy files


def test_every_azure_policy_file_loads_with_a_check_reading_its_planes() -> None:
    """Each Azure policy file validates, has a registered check, and lists exactly the planes it reads."""
    catalogue = azure_catalogue()
    checks = check_registry()
    assert sorted(catalogue) == sorted(AZURE_IDS)
    for pid, policy in catalogue.items():
        check_planes(policy, set(checks[pid].scopes))
        assert policy.remediation.doc_url
        assert policy.remediation.doc_url.startswith("https://learn.microsoft.com/")
        assert policy.remediation.cli


def test_severities_and_defaults_follow_the_design() -> None:
    """Severities and parameter defaults are those of the DESIGN.md catalogue."""
    catalogue = azure_catalogue()
    severities = {pid: p.spec.severity for pid, p in catalogue.items()}
    assert severities == {
        "MLF-003": "medium",
        "EXP-001": "low",
        "ACR-001": "high",
        "ACR-002": "low",
        "GIT-002": "low",
        "CMP-002": "low",
        "CST-002": "medium",
        "CST-003": "medium",
        "IAM-001": "medium",
    }
    assert catalogue["EXP-001"].defaults() == {"stale_after_days": 90}
    assert catalogue["ACR-002"].defaults() == {"warn_ratio": 0.9}
    assert catalogue["GIT-002"].defaults() == {"window_days": 30}
    assert catalogue["IAM-001"].defaults() == {"max_owners": 3}
    assert catalogue["ACR-001"].spec.cost_model is not None
    assert catalogue["CST-003"].spec.cost_model is not None


def test_shipped_catalogue_evaluates_the_azure_checks() -> None:
    """Through the full shipped catalogue and price book, the Azure policies report as they do alone."""
    snap = snapshot(aml=[aml_workspace(computes=[compute_cluster(min_nodes=1)])])
    result = evaluate(snap, load_catalogue(), load_prices(), only=AZURE_IDS)
    assert [f.policy_id for f in result.findings] == ["CST-003"]
    assert ("CST-003", ws_id().lower()) in result.coverage


def test_clean_snapshot_gives_no_finding() -> None:
    """A workspace with a versioned recent job on a cluster, a small registry and three owners is clean."""
    ws = ws_id()
    snap = snapshot(
        aml=[
            aml_workspace(
                jobs=[job("j1", compute=compute_id(ws, "cpu-cluster"), git_commit="abc123")],
                computes=[compute_cluster(), compute_instance(idle_minutes=60)],
            )
        ],
        registries=[registry(size_gib=2, included_gib=10)],
        role_assignments=[assignment(p) for p in ("u1", "u2", "u3")],
        known_aml_workspaces=[known("ws-prod")],
    )
    assert run(snap).findings == ()


# ---------------------------------------------------------------------------------------------
# MLF-003


def test_mlf003_uri_into_a_completely_listed_subscription_without_that_workspace_fires() -> None:
    """A Databricks cluster pointing MLflow at a workspace absent from a fully listed subscription is reported."""
    sighting = uri_sighting(azureml_uri("ws-deleted"))
    snap = snapshot(databricks=[databricks_workspace(mlflow_uris=[sighting])], known_aml_workspaces=[known("ws-prod")])
    [f] = findings(snap, "MLF-003")
    assert f.resource_id == sighting.resource_id
    assert f.scope_id == "databricks://adb-1.azuredatabricks.net"
    assert f.sub_key == "spark_env_vars|MLFLOW_TRACKING_URI"
    assert f.message.startswith("Databricks cluster 'etl-cluster' sets an MLflow tracking URI")
    assert "ws-deleted" in f.message and "does not exist" in f.message
    assert f.evidence["target_workspace_id"] == ws_id("ws-deleted")
    assert f.evidence["subscription_listed_completely"] is True


def test_mlf003_subscription_not_completely_listed_stays_quiet() -> None:
    """When the URI's subscription was not listed completely the check cannot know, so it says nothing."""
    sighting = uri_sighting(azureml_uri("ws-elsewhere", sub=OTHER_SUB))
    snap = snapshot(databricks=[databricks_workspace(mlflow_uris=[sighting])], complete_subscriptions=[SUB])
    assert findings(snap, "MLF-003") == []


def test_mlf003_existing_workspace_matches_case_insensitively() -> None:
    """A URI to a workspace discovery knows, spelled with another case, is not reported."""
    uri = azureml_uri("WS-Prod").replace("resourceGroups/rg-ml", "resourceGroups/RG-ML")
    snap = snapshot(
        databricks=[databricks_workspace(mlflow_uris=[uri_sighting(uri)])],
        known_aml_workspaces=[known("ws-prod")],
        complete_subscriptions=[SUB.upper()],
    )
    assert findings(snap, "MLF-003") == []


def test_mlf003_audited_workspace_counts_as_existing() -> None:
    """A workspace that is itself in the snapshot exists even if discovery did not list it."""
    sighting = uri_sighting(azureml_uri("ws-prod"))
    snap = snapshot(aml=[aml_workspace()], databricks=[databricks_workspace(mlflow_uris=[sighting])])
    assert findings(snap, "MLF-003") == []


def test_mlf003_aml_job_sighting_is_scoped_to_its_aml_workspace() -> None:
    """A stale URI in an AML job's environment is reported under that AML workspace."""
    sighting = uri_sighting(
        azureml_uri("ws-old"),
        resource_id=f"{ws_id()}/jobs/train-1",
        resource_name="train-1",
        resource_kind="aml.job",
        location="environment_variables",
    )
    snap = snapshot(aml=[aml_workspace(mlflow_uris=[sighting])], known_aml_workspaces=[known("ws-prod")])
    [f] = findings(snap, "MLF-003")
    assert f.scope_id == ws_id()
    assert f.resource_kind == "aml.job"


def test_mlf003_region_mismatch_fires_for_an_existing_workspace() -> None:
    """A URI whose host names another region than the workspace's location is reported as unreachable."""
    sighting = uri_sighting(azureml_uri("ws-prod", host="eastus.api.azureml.ms"))
    snap = snapshot(
        databricks=[databricks_workspace(mlflow_uris=[sighting])],
        known_aml_workspaces=[known("ws-prod", location="West Europe")],
    )
    [f] = findings(snap, "MLF-003")
    assert f.evidence["uri_region"] == "eastus"
    assert f.evidence["workspace_region"] == "westeurope"
    assert "eastus" in f.message and "westeurope" in f.message


@pytest.mark.parametrize(
    ("host", "location"),
    [
        ("westeurope.api.azureml.ms", "westeurope"),
        ("0f1e2d3c-aaaa-bbbb-cccc-123456789abc.workspace.westeurope.api.azureml.ms", "westeurope"),
        ("my-proxy.contoso.com", "westeurope"),
        ("eastus.api.azureml.ms", None),
    ],
)
def test_mlf003_region_check_says_nothing_unless_both_regions_are_known_and_differ(
    host: str, location: str | None
) -> None:
    """Matching regions, the private-link host, unknown host shapes and unknown locations are all quiet."""
    sighting = uri_sighting(azureml_uri("ws-prod", host=host))
    snap = snapshot(
        databricks=[databricks_workspace(mlflow_uris=[sighting])],
        known_aml_workspaces=[known("ws-prod", location=location)],
    )
    assert findings(snap, "MLF-003") == []


def test_mlf003_workspace_own_tracking_uri_is_the_reference_for_its_region() -> None:
    """For an audited workspace, its own tracking URI's host wins over the location-based rule."""
    own = azureml_uri("ws-prod", host="eastus.api.azureml.ms")
    quiet = uri_sighting(own)
    wrong = uri_sighting(azureml_uri("ws-prod", host="westeurope.api.azureml.ms"), key="OTHER_URI")
    snap = snapshot(
        aml=[aml_workspace(location="westeurope", mlflow_tracking_uri=own)],
        databricks=[databricks_workspace(mlflow_uris=[quiet, wrong])],
        known_aml_workspaces=[known("ws-prod", location="westeurope")],
    )
    [f] = findings(snap, "MLF-003")
    assert f.evidence["key"] == "OTHER_URI"
    assert f.evidence["workspace_region"] == "eastus"


def test_mlf003_unparsable_uri_stays_quiet() -> None:
    """A sighting whose workspace id could not be parsed is not judged."""
    sighting = uri_sighting("azureml://westeurope.api.azureml.ms/mlflow/v1.0/garbage")
    assert sighting.workspace_id is None
    snap = snapshot(databricks=[databricks_workspace(mlflow_uris=[sighting])])
    assert findings(snap, "MLF-003") == []


def test_mlf003_failed_clusters_family_drops_the_finding() -> None:
    """When the Databricks clusters listing failed, the workspace is not evaluated by MLF-003."""
    host_id = "databricks://adb-1.azuredatabricks.net"
    snap = snapshot(
        databricks=[databricks_workspace(mlflow_uris=[uri_sighting(azureml_uri("ws-gone"))])],
        scopes=[failed(host_id, "clusters", "databricks_workspace")],
    )
    result = run(snap, "MLF-003")
    assert result.findings == ()
    assert ("MLF-003", host_id) not in result.coverage


# ---------------------------------------------------------------------------------------------
# EXP-001


def test_exp001_experiment_idle_beyond_threshold_fires_with_evidence() -> None:
    """An experiment whose newest job is 91 days old is stale; evidence counts jobs and archived ones."""
    jobs = [
        job("old-1", "forecast", days_ago=200),
        job("old-2", "forecast", days_ago=150, archived=True),
        job("old-3", "forecast", days_ago=120, modified_days_ago=91),
    ]
    snap = snapshot(aml=[aml_workspace(jobs=jobs)])
    [f] = findings(snap, "EXP-001")
    assert f.resource_id == f"{ws_id()}/experiments/forecast"
    assert f.resource_name == "forecast"
    assert f.resource_kind == "aml.experiment"
    assert f.evidence["job_count"] == 3
    assert f.evidence["archived_job_count"] == 1
    assert f.evidence["newest_job"] == "old-3"
    assert f.evidence["idle_days"] == 91
    assert f.evidence["newest_activity_at"] == "2026-08-21T12:00:00Z"  # NOW (2026-11-20 12:00Z) - 91 days
    assert "91 days" in f.message and "1 already archived" in f.message


def test_exp001_newest_job_89_days_old_is_not_stale() -> None:
    """An experiment whose newest job is 89 days old is still active."""
    snap = snapshot(aml=[aml_workspace(jobs=[job("a", days_ago=300), job("b", days_ago=89)])])
    assert findings(snap, "EXP-001") == []


def test_exp001_recent_modification_counts_as_activity() -> None:
    """A job created long ago but modified recently keeps its experiment active."""
    snap = snapshot(aml=[aml_workspace(jobs=[job("a", days_ago=400, modified_days_ago=3)])])
    assert findings(snap, "EXP-001") == []


def test_exp001_fully_archived_experiment_is_left_alone() -> None:
    """Once every job of a stale experiment is archived, the finding goes away."""
    snap = snapshot(aml=[aml_workspace(jobs=[job("a", days_ago=400, archived=True)])])
    assert findings(snap, "EXP-001") == []


def test_exp001_job_without_any_date_keeps_the_experiment_unjudged() -> None:
    """An experiment with an undated job cannot be said to be idle."""
    snap = snapshot(aml=[aml_workspace(jobs=[job("a", days_ago=400), job("b", days_ago=None)])])
    assert findings(snap, "EXP-001") == []


def test_exp001_threshold_is_a_parameter() -> None:
    """With stale_after_days set to 30, a 45-day-old experiment is stale."""
    snap = snapshot(aml=[aml_workspace(jobs=[job("a", days_ago=45)])])
    assert findings(snap, "EXP-001") == []
    [f] = findings(snap, "EXP-001", parameters={"EXP-001": {"stale_after_days": 30}})
    assert f.evidence["stale_after_days"] == 30


def test_exp001_failed_jobs_listing_gives_no_finding() -> None:
    """A workspace whose job listing failed is not evaluated."""
    snap = snapshot(aml=[aml_workspace(jobs=[job("a", days_ago=400)])], scopes=[failed(ws_id(), "jobs")])
    assert findings(snap, "EXP-001") == []


def test_parameter_out_of_bounds_is_a_config_error() -> None:
    """A parameter override outside the policy's bounds is refused with a ConfigError."""
    snap = snapshot(aml=[aml_workspace()])
    with pytest.raises(ConfigError):
        run(snap, "EXP-001", parameters={"EXP-001": {"stale_after_days": 0}})


# ---------------------------------------------------------------------------------------------
# ACR-001 / ACR-002


def test_acr001_over_included_storage_fires_with_cost() -> None:
    """12 GiB on a Basic registry including 10 GiB is 2 GiB over: 2 x 0.003 x 30 = 0.18 USD a month."""
    reg = registry(sku="Basic", size_gib=12, included_gib=10)
    result = run(snapshot(registries=[reg]), "ACR-001", "ACR-002")
    [f] = result.findings
    assert f.policy_id == "ACR-001"
    assert f.scope_id == reg.resource_id
    assert f.resource_name == "acrprod"
    assert f.severity.value == "high"
    assert f.cost is not None
    assert f.cost.monthly == pytest.approx(0.18)
    assert f.cost.currency == "USD"
    assert f.cost.inputs["over_gib"] == pytest.approx(2.0)
    assert f.cost.inputs["price_per_gib_day"] == pytest.approx(0.003)
    assert f.cost.inputs["days"] == 30
    assert "container-registry" in f.cost.price_source
    assert f.evidence["included_from"] == "listUsages Size.limit"


def test_acr_without_usage_limit_falls_back_to_the_sku_table() -> None:
    """A Standard registry of 150 GiB with no listUsages limit is 50 GiB over 100: 50 x 0.003 x 30 = 4.50."""
    reg = registry(sku="Standard", size_gib=150, included_gib=None)
    [f] = findings(snapshot(registries=[reg]), "ACR-001")
    assert f.cost is not None
    assert f.cost.monthly == pytest.approx(4.5)
    assert f.evidence["included_from"] == "price book (Standard SKU)"


def test_acr_usage_limit_wins_over_the_sku_table() -> None:
    """The limit listUsages reports is used even when the SKU table would say otherwise."""
    reg = registry(sku="Basic", size_gib=50, included_gib=100)
    assert run(snapshot(registries=[reg]), "ACR-001", "ACR-002").findings == ()


def test_acr_9_9_of_10_gib_is_acr002_not_acr001() -> None:
    """A registry at 99 % of its included storage gets the early warning, not the overage finding."""
    reg = registry(sku="Basic", size_gib=9.9, included_gib=10)
    result = run(snapshot(registries=[reg]), "ACR-001", "ACR-002")
    [f] = result.findings
    assert f.policy_id == "ACR-002"
    assert f.cost is None
    assert f.evidence["usage_ratio"] == pytest.approx(0.99)
    assert f.evidence["headroom_gib"] == pytest.approx(0.1)
    assert "99%" in f.message


def test_acr_exactly_full_is_a_warning_not_an_overage() -> None:
    """Exactly the included storage is not over it."""
    reg = registry(sku="Basic", size_gib=10, included_gib=10)
    assert [f.policy_id for f in run(snapshot(registries=[reg]), "ACR-001", "ACR-002").findings] == ["ACR-002"]


def test_acr_below_warn_ratio_is_quiet_and_ratio_is_a_parameter() -> None:
    """8.9 of 10 GiB is below 0.9; with warn_ratio 0.5 it is reported."""
    snap = snapshot(registries=[registry(size_gib=8.9, included_gib=10)])
    assert run(snap, "ACR-001", "ACR-002").findings == ()
    [f] = findings(snap, "ACR-002", parameters={"ACR-002": {"warn_ratio": 0.5}})
    assert f.evidence["warn_ratio"] == 0.5


def test_acr_missing_registry_or_unknown_size_is_quiet() -> None:
    """A registry that does not exist, or whose size is unknown, is not judged on storage."""
    snap = snapshot(
        registries=[
            registry("gone", size_gib=50, included_gib=10, exists=False),
            registry("unknown", size_gib=None, included_gib=10),
            registry("nosku", sku=None, size_gib=50, included_gib=None),
        ]
    )
    assert run(snap, "ACR-001", "ACR-002").findings == ()


# ---------------------------------------------------------------------------------------------
# GIT-002


def test_git002_recent_jobs_without_git_metadata_fire() -> None:
    """An experiment whose jobs of the last 30 days all lack Git metadata is reported."""
    jobs = [
        job("nb-1", "explore", days_ago=2),
        job("nb-2", "explore", days_ago=10),
        job("nb-0", "explore", days_ago=60),
    ]
    [f] = findings(snapshot(aml=[aml_workspace(jobs=jobs)]), "GIT-002")
    assert f.resource_id == f"{ws_id()}/experiments/explore"
    assert f.evidence["recent_job_count"] == 2
    assert f.evidence["newest_job"] == "nb-1"
    assert f.evidence["jobs"] == ["nb-1", "nb-2"]


@pytest.mark.parametrize(
    ("repo", "commit"), [(None, "0a1b2c3"), ("https://dev.azure.com/o/p/_git/r", None)], ids=["commit", "repo"]
)
def test_git002_one_recent_job_with_git_metadata_is_enough(repo: str | None, commit: str | None) -> None:
    """A recent job with a commit or a repository URL shows the experiment is fed from Git."""
    jobs = [job("a", days_ago=2), job("b", days_ago=5, git_repo_url=repo, git_commit=commit)]
    assert findings(snapshot(aml=[aml_workspace(jobs=jobs)]), "GIT-002") == []


def test_git002_experiment_without_recent_job_is_quiet_until_the_window_grows() -> None:
    """Jobs older than the window are not held against the experiment; a 60-day window catches them."""
    snap = snapshot(aml=[aml_workspace(jobs=[job("a", days_ago=40)])])
    assert findings(snap, "GIT-002") == []
    [f] = findings(snap, "GIT-002", parameters={"GIT-002": {"window_days": 60}})
    assert f.evidence["window_days"] == 60


# ---------------------------------------------------------------------------------------------
# CMP-002


def _ws_with_computes(*jobs_: AmlJob) -> AmlWorkspace:
    return aml_workspace(
        jobs=jobs_,
        computes=[compute_instance("ci-alice", idle_minutes=60), compute_cluster("cpu-cluster")],
    )


def test_cmp002_one_finding_per_experiment_counting_jobs_on_instances() -> None:
    """Two jobs on a compute instance (ARM id in another case, and azureml:name) give one finding with a count."""
    ws = ws_id()
    snap = snapshot(
        aml=[
            _ws_with_computes(
                job("t1", compute=compute_id(ws, "ci-alice").upper(), days_ago=1),
                job("t2", compute="azureml:ci-alice", days_ago=3),
                job("t3", compute=compute_id(ws, "cpu-cluster"), days_ago=2),
            )
        ]
    )
    [f] = findings(snap, "CMP-002")
    assert f.resource_id == f"{ws}/experiments/churn"
    assert f.fingerprint == fingerprint("CMP-002", f"{ws}/experiments/churn")
    assert f.evidence["job_count"] == 2
    assert f.evidence["compute_instances"] == ["ci-alice"]
    assert f.evidence["jobs"] == ["t1", "t2"]


def test_cmp002_fingerprint_does_not_depend_on_the_number_of_jobs() -> None:
    """More runs on the instance keep the same finding identity."""
    ws = ws_id()
    one = findings(snapshot(aml=[_ws_with_computes(job("a", compute="ci-alice"))]), "CMP-002")
    two = findings(
        snapshot(aml=[_ws_with_computes(job("a", compute="ci-alice"), job("b", compute=compute_id(ws, "ci-alice")))]),
        "CMP-002",
    )
    assert [f.fingerprint for f in one] == [f.fingerprint for f in two]


def test_cmp002_cluster_pipeline_old_and_foreign_jobs_are_quiet() -> None:
    """Jobs on a cluster, pipeline parents, jobs outside the window and another workspace's compute don't count."""
    other = ws_id("ws-other")
    snap = snapshot(
        aml=[
            _ws_with_computes(
                job("c", compute="azureml:cpu-cluster"),
                job("p", compute="ci-alice", job_type="Pipeline"),
                job("old", compute="ci-alice", days_ago=45),
                job("f", compute=compute_id(other, "ci-alice")),
                job("s", compute=None),
            )
        ]
    )
    assert findings(snap, "CMP-002") == []


def test_cmp002_failed_computes_listing_gives_no_finding() -> None:
    """Without the compute listing the check cannot tell instances from clusters."""
    snap = snapshot(
        aml=[_ws_with_computes(job("a", compute="ci-alice"))],
        scopes=[failed(ws_id(), "computes")],
    )
    assert findings(snap, "CMP-002") == []


# ---------------------------------------------------------------------------------------------
# CST-002


def test_cst002_running_instance_nothing_stops_fires_with_assumed_idle_cost() -> None:
    """A running DS3_v2 in westeurope: 0.334 x 730 x 0.5 = 121.91 USD a month."""
    ci = compute_instance(vm_size="Standard_DS3_v2", location="westeurope")
    [f] = findings(snapshot(aml=[aml_workspace(computes=[ci])]), "CST-002")
    assert f.resource_id == ci.resource_id
    assert f.resource_kind == "aml.compute_instance"
    assert f.cost is not None
    assert f.cost.monthly == pytest.approx(121.91)
    assert f.cost.inputs == {
        "vm_size": "Standard_DS3_v2",
        "region": "westeurope",
        "vm_hourly": 0.334,
        "hours_per_month": 730,
        "assumed_idle_ratio": 0.5,
    }
    assert "assumed_idle_ratio" in f.cost.formula


def test_cst002_stop_schedule_without_idle_shutdown_is_compliant() -> None:
    """An enabled stop schedule is enough, and so is idle shutdown alone."""
    snap = snapshot(
        aml=[
            aml_workspace(
                computes=[compute_instance("ci-a", stop_schedules=1), compute_instance("ci-b", idle_minutes=30)]
            )
        ]
    )
    assert findings(snap, "CST-002") == []


def test_cst002_stopped_or_unpriced_instance_fires_without_cost() -> None:
    """A stopped instance and one of an unknown size are reported with a note instead of a figure."""
    snap = snapshot(
        aml=[
            aml_workspace(
                computes=[
                    compute_instance("ci-stopped", state="Stopped"),
                    compute_instance("ci-exotic", vm_size="Standard_Z99"),
                ]
            )
        ]
    )
    got = {f.resource_name: f for f in findings(snap, "CST-002")}
    assert set(got) == {"ci-stopped", "ci-exotic"}
    assert all(f.cost is None for f in got.values())
    assert "not running" in str(got["ci-stopped"].evidence["cost_note"])
    assert "Standard_Z99" in str(got["ci-exotic"].evidence["cost_note"])


def test_cst002_idle_ratio_is_a_parameter() -> None:
    """With assumed_idle_ratio 0.2: 0.334 x 730 x 0.2 = 48.76 USD a month."""
    snap = snapshot(aml=[aml_workspace(computes=[compute_instance()])])
    [f] = findings(snap, "CST-002", parameters={"CST-002": {"assumed_idle_ratio": 0.2}})
    assert f.cost is not None
    assert f.cost.monthly == pytest.approx(48.76)


def test_cst002_ignores_compute_clusters() -> None:
    """Clusters have no idle shutdown; only compute instances are judged."""
    snap = snapshot(aml=[aml_workspace(computes=[compute_cluster()])])
    assert findings(snap, "CST-002") == []


# ---------------------------------------------------------------------------------------------
# CST-003


def test_cst003_min_nodes_above_zero_fires_with_always_on_cost() -> None:
    """2 always-on D4s_v3 nodes in eastus: 2 x 0.192 x 730 = 280.32 USD a month."""
    cluster = compute_cluster(min_nodes=2, vm_size="Standard_D4s_v3", location="eastus")
    [f] = findings(snapshot(aml=[aml_workspace(computes=[cluster])]), "CST-003")
    assert f.resource_id == cluster.resource_id
    assert f.resource_kind == "aml.compute_cluster"
    assert f.cost is not None
    assert f.cost.monthly == pytest.approx(280.32)
    assert f.cost.inputs["min_nodes"] == 2
    assert f.cost.inputs["vm_hourly"] == 0.192
    assert "2 nodes" in f.message


def test_cst003_low_priority_is_priced_as_an_upper_bound() -> None:
    """Low-priority nodes get the dedicated price with a note saying it is an upper bound."""
    cluster = compute_cluster(min_nodes=1, vm_priority="LowPriority")
    [f] = findings(snapshot(aml=[aml_workspace(computes=[cluster])]), "CST-003")
    assert f.cost is not None
    assert f.cost.monthly == pytest.approx(140.16)  # 1 x 0.192 x 730
    assert "upper bound" in str(f.evidence["cost_note"])


@pytest.mark.parametrize("min_nodes", [0, None])
def test_cst003_cluster_scaling_to_zero_is_quiet(min_nodes: int | None) -> None:
    """A minimum of 0 (or unknown) is not reported; nor are compute instances."""
    snap = snapshot(aml=[aml_workspace(computes=[compute_cluster(min_nodes=min_nodes), compute_instance()])])
    assert findings(snap, "CST-003") == []


# ---------------------------------------------------------------------------------------------
# IAM-001


def _iam(*assignments: RoleAssignment) -> list[Finding]:
    snap = snapshot(aml=[aml_workspace()], role_assignments=assignments)
    return findings(snap, "IAM-001")


def test_iam001_three_user_owners_is_quiet_four_fires() -> None:
    """Three user Owners are allowed; a fourth is reported with each principal, scope and inherited flag."""
    assert _iam(*(assignment(p) for p in ("u1", "u2", "u3"))) == []
    [f] = _iam(assignment("u1"), assignment("u2"), assignment("u3", inherited=True), assignment("u4", inherited=True))
    assert f.resource_id == ws_id()
    assert f.scope_id == ws_id()
    assert f.resource_kind == "aml.workspace"
    assert f.evidence["user_owner_count"] == 4
    listed = f.evidence["user_owner_assignments"]
    assert isinstance(listed, list)
    assert {"principal_id": "u4", "scope": f"/subscriptions/{SUB}", "inherited": True} in listed
    assert {"principal_id": "u1", "scope": ws_id(), "inherited": False} in listed
    assert "4 individual users" in f.message and "2 of them only through an inherited" in f.message


def test_iam001_groups_and_service_principals_do_not_count() -> None:
    """Group and service principal Owners are reported in evidence only, never counted."""
    assert (
        _iam(
            *(assignment(p) for p in ("u1", "u2", "u3")),
            assignment("g1", principal_type="Group"),
            assignment("g2", principal_type="Group", inherited=True),
            assignment("sp1", principal_type="ServicePrincipal"),
            assignment("x1", principal_type=None),
        )
        == []
    )


def test_iam001_owner_is_recognised_by_definition_id_not_name() -> None:
    """A custom role named Owner does not count; the built-in id counts whatever the name or case."""
    custom_owner = (
        f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/0000aaaa-0000-0000-0000-000000000001"
    )
    assert (
        _iam(
            *(assignment(p) for p in ("u1", "u2", "u3")),
            assignment("u4", role_definition_id=custom_owner, role_name="Owner"),
            assignment("u5", role_definition_id=CONTRIBUTOR_DEF, role_name="Contributor"),
        )
        == []
    )
    upper_owner = (
        f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/8E3AF657-A8FF-443C-A75C-2FE8C4BCB635"
    )
    [f] = _iam(
        *(assignment(p) for p in ("u1", "u2", "u3")), assignment("u4", role_definition_id=upper_owner, role_name=None)
    )
    assert f.evidence["user_owner_count"] == 4


def test_iam001_a_user_with_direct_and_inherited_owner_counts_once() -> None:
    """Distinct principals are counted, not assignments."""
    assert (
        _iam(assignment("u1"), assignment("u1", inherited=True), assignment("u2"), assignment("u3", inherited=True))
        == []
    )


def test_iam001_max_owners_is_a_parameter_and_databricks_workspaces_are_covered() -> None:
    """With max_owners 1, two user Owners on a Databricks workspace are reported as a Databricks workspace."""
    dbx_arm = f"/subscriptions/{SUB}/resourceGroups/{'rg-dbx'}/providers/Microsoft.Databricks/workspaces/dbx-prod"
    snap = snapshot(
        databricks=[databricks_workspace(arm_id=dbx_arm)],
        role_assignments=[assignment("u1", applies_to=dbx_arm), assignment("u2", applies_to=dbx_arm)],
    )
    assert findings(snap, "IAM-001") == []
    [f] = findings(snap, "IAM-001", parameters={"IAM-001": {"max_owners": 1}})
    assert f.resource_kind == "databricks.workspace"
    assert f.resource_name == "dbx-prod"
    assert f.scope_id == dbx_arm


def test_iam001_failed_role_assignment_listing_gives_no_finding() -> None:
    """A workspace whose role assignments could not be listed is not evaluated."""
    snap = snapshot(
        aml=[aml_workspace()],
        role_assignments=[assignment(p) for p in ("u1", "u2", "u3", "u4")],
        scopes=[failed(ws_id(), "role_assignments")],
    )
    assert findings(snap, "IAM-001") == []


# ---------------------------------------------------------------------------------------------
# Offline re-evaluation


def test_saved_and_reloaded_snapshot_gives_the_same_findings() -> None:
    """Evaluating a snapshot after a JSON round trip gives the same findings, fingerprints and costs."""
    ws = ws_id()
    snap = snapshot(
        aml=[
            aml_workspace(
                jobs=[job("old", "forecast", days_ago=120), job("t1", compute=compute_id(ws, "ci-alice"))],
                computes=[compute_instance("ci-alice"), compute_cluster(min_nodes=1)],
            )
        ],
        databricks=[databricks_workspace(mlflow_uris=[uri_sighting(azureml_uri("ws-gone"))])],
        registries=[registry(size_gib=12, included_gib=10), registry("acrdev", size_gib=9.5, included_gib=10)],
        role_assignments=[assignment(p) for p in ("u1", "u2", "u3", "u4")],
        known_aml_workspaces=[known("ws-prod")],
    )
    again = snapshot_from_dict(json.loads(json.dumps(snapshot_to_dict(snap))))
    before, after = run(snap).findings, run(again).findings
    assert {f.policy_id for f in before} == set(AZURE_IDS)
    assert [(f.fingerprint, f.message, f.cost) for f in before] == [(f.fingerprint, f.message, f.cost) for f in after]
