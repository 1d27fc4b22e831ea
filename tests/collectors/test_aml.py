"""The AML collector, through the real azure-ai-ml MLClient against recorded HTTP (cassettes/azure)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from azure_support import (
    CASSETTES,
    NOW,
    RG,
    SUB_A,
    SUB_X,
    NoSleepTransport,
    RecordingListener,
    aml_id,
    make_config,
    make_context,
    played,
    registry_id,
)
from mlgov.codec import encode
from mlgov.collectors.aml import collect_workspace, compute_id, job_from_json
from mlgov.inventory import AmlWorkspace, ScopeStatus
from mlgov.replay import replaying
from mlgov.targets import AmlTarget

WS = aml_id(SUB_A, RG, "mlw-alpha")


def collect(
    cassette: str, name: str = "mlw-alpha", **kwargs: Any
) -> tuple[AmlWorkspace, list[ScopeStatus], Any, RecordingListener]:
    ctx = make_context(make_config({"subscriptions": [SUB_A]}), **kwargs)
    target = AmlTarget(
        resource_id=aml_id(SUB_A, RG, name), name=name, subscription_id=SUB_A, resource_group=RG, location="westeurope"
    )
    listener = RecordingListener()
    with replaying(CASSETTES / cassette, now=NOW) as cass:
        record, statuses = collect_workspace(ctx, target, listener)
    return record, statuses, cass, listener


def test_workspace_settings_are_read() -> None:
    """The registry id (in another subscription), MLflow URI, discovery URL and region come from the workspace."""
    ws, statuses, cass, _ = collect("aml_workspace.yaml")
    assert ws.registry_id == registry_id(SUB_X, "rg-shared-acr", "crshared")
    assert ws.mlflow_tracking_uri == f"azureml://westeurope.api.azureml.ms/mlflow/v1.0{WS}"
    assert ws.discovery_url == "https://westeurope.api.azureml.ms/discovery"
    assert (ws.location, ws.subscription_id, ws.resource_group) == ("westeurope", SUB_A, RG)
    assert [(s.family, s.ok, s.scope_kind, s.scope_id) for s in statuses] == [
        ("workspace", True, "aml_workspace", WS),
        ("computes", True, "aml_workspace", WS),
        ("jobs", True, "aml_workspace", WS),
    ]
    assert cass.all_played


def test_computes_of_every_page_are_read() -> None:
    """Instances keep idle shutdown, stop schedules and owner; clusters keep node counts and VM priority."""
    ws, _, _, _ = collect("aml_workspace.yaml")
    by_name = {c.name: c for c in ws.computes}
    assert list(by_name) == ["ci-alice", "ci-bob", "ci-carol", "cpu-cluster", "gpu-spot", "aks-inference"]
    alice, bob, carol = by_name["ci-alice"], by_name["ci-bob"], by_name["ci-carol"]
    assert (alice.compute_type, alice.idle_shutdown_minutes, alice.stop_schedules, alice.state) == (
        "ComputeInstance",
        60,
        0,
        "Running",
    )
    assert (bob.idle_shutdown_minutes, bob.stop_schedules) == (None, 1)
    assert (carol.idle_shutdown_minutes, carol.stop_schedules, carol.state) == (None, 0, "Stopped")
    assert alice.created_by == "aaaaaaaa-0000-0000-0000-000000000001"
    assert alice.resource_id == f"{WS}/computes/ci-alice"
    cpu, spot = by_name["cpu-cluster"], by_name["gpu-spot"]
    assert (cpu.compute_type, cpu.min_nodes, cpu.max_nodes, cpu.vm_priority, cpu.vm_size) == (
        "AmlCompute",
        2,
        6,
        "Dedicated",
        "Standard_DS3_v2",
    )
    assert (spot.min_nodes, spot.vm_priority, spot.vm_size) == (0, "LowPriority", "Standard_NC6s_v3")
    assert by_name["aks-inference"].compute_type == "Unsupported"


def test_jobs_of_every_page_and_view_are_read() -> None:
    """Active and archived jobs over three pages keep experiment, status, times, compute id and Git facts."""
    ws, _, cass, listener = collect("aml_workspace.yaml")
    jobs = {j.name: j for j in ws.jobs}
    assert sorted(jobs) == ["archived-001", "legacy-001", "pipeline-001", "train-001", "train-002"]
    assert sum("jobs" in r.path for r in played(cass)) == 3
    train1, train2, legacy = jobs["train-001"], jobs["train-002"], jobs["legacy-001"]
    assert (train1.experiment, train1.job_type, train1.status) == ("churn", "command", "Completed")
    assert train1.created_at == NOW - timedelta(days=5)
    assert train1.modified_at == NOW - timedelta(days=5)
    assert train1.compute_id == f"{WS}/computes/cpu-cluster"
    assert (train1.git_repo_url, train1.git_commit, train1.git_dirty) == (
        "https://github.com/contoso/churn.git",
        "a1b2c3d4",
        True,
    )
    assert (legacy.git_repo_url, legacy.git_commit, legacy.git_dirty, legacy.status) == (
        "https://dev.azure.com/contoso/ml/_git/forecast",
        "deadbeef",
        None,
        "Failed",
    )
    assert (train2.git_repo_url, train2.compute_id) == (None, f"{WS}/computes/ci-alice")
    assert jobs["archived-001"].archived and not legacy.archived and not train1.archived
    assert jobs["pipeline-001"].job_type == "pipeline" and jobs["pipeline-001"].compute_id is None
    assert ("family", WS, "jobs", 5, True) in listener.events


def test_environment_variables_become_sightings_without_their_values() -> None:
    """An expired JWT and a PAT become SecretSightings, an azureml:// URI a UriSighting; no value is kept."""
    ws, _, _, _ = collect("aml_workspace.yaml")
    secrets = {(s.resource_name, s.key): s for s in ws.secrets}
    assert set(secrets) == {("train-002", "MLFLOW_TRACKING_TOKEN"), ("archived-001", "DATABRICKS_TOKEN")}
    jwt = secrets[("train-002", "MLFLOW_TRACKING_TOKEN")]
    assert (jwt.resource_kind, jwt.location, jwt.token.kind) == ("aml.job", "environment_variables", "jwt")
    assert jwt.token.expires_at == (NOW - timedelta(days=30)).replace(microsecond=0)
    assert jwt.token.audience == "https://management.azure.com"
    assert jwt.resource_id == f"{WS}/jobs/train-002"
    assert secrets[("archived-001", "DATABRICKS_TOKEN")].token.kind == "databricks_pat"
    (uri,) = ws.mlflow_uris
    deleted = aml_id(SUB_A, RG, "mlw-deleted-2022")
    assert (uri.key, uri.workspace_id, uri.resource_kind) == ("MLFLOW_TRACKING_URI", deleted, "aml.job")
    text = repr(encode(ws))
    assert "eyJ" not in text and "dapi" not in text  # neither the JWT nor the PAT survived


def test_a_job_type_the_sdk_cannot_parse_costs_nothing() -> None:
    """A job azure-ai-ml cannot turn into an entity is kept from its JSON, and later pages are still read."""
    ws, statuses, cass, _ = collect("aml_unknown_job.yaml", name="mlw-labels")
    jobs = {j.name: j for j in ws.jobs}
    assert sorted(jobs) == ["first-001", "label-project-01", "second-001", "third-001"]
    assert jobs["label-project-01"].job_type == "labeling"
    assert jobs["third-001"].archived
    assert [s.key for s in ws.secrets] == ["LABELS_TOKEN"]
    assert all(s.ok for s in statuses)
    assert cass.all_played


def test_a_forbidden_family_fails_alone() -> None:
    """A 403 on jobs fails the jobs family with a hint; the workspace and computes are still read."""
    ws, statuses, _, listener = collect("aml_partial.yaml", name="mlw-beta")
    by_family = {s.family: s for s in statuses}
    assert by_family["workspace"].ok and by_family["computes"].ok
    jobs = by_family["jobs"]
    assert (jobs.ok, jobs.status, jobs.code, jobs.scope_kind) == (False, 403, "AuthorizationFailed", "aml_workspace")
    assert jobs.hint == "Grant Reader on the workspace (or its resource group) to the audit identity."
    assert ws.jobs == () and ws.registry_id is None
    assert ("family", aml_id(SUB_A, RG, "mlw-beta"), "jobs", 0, False) in listener.events


def test_throttled_job_listing_is_retried_after_retry_after() -> None:
    """azure-ai-ml's own pipeline honours Retry-After with the context's retry settings."""
    transport = NoSleepTransport()
    ws, statuses, _, _ = collect("aml_partial.yaml", name="mlw-busy", transport=transport)
    assert [j.name for j in ws.jobs] == ["quick-001"]
    assert all(s.ok for s in statuses)
    assert transport.sleeps == [3.0]


def test_compute_id_is_normalised_to_an_arm_id() -> None:
    """A compute given by name (azure-ai-ml) or by ARM id (REST) ends up as the same ARM id."""
    assert compute_id("cpu", WS) == f"{WS}/computes/cpu"
    assert compute_id("azureml:cpu", WS) == f"{WS}/computes/cpu"
    assert compute_id(f"{WS}/computes/cpu", WS) == f"{WS}/computes/cpu"
    assert compute_id(None, WS) is None


def test_job_from_json_reads_the_rest_shape() -> None:
    """A job's ARM JSON gives the same facts as the entity, legacy Git keys and a credential-free Git URL."""
    raw = {
        "id": f"{WS}/jobs/j",
        "name": "j",
        "properties": {
            "jobType": "Sweep",
            "experimentName": "e",
            "status": "Running",
            "isArchived": True,
            "computeId": f"{WS}/computes/c",
            "properties": {
                "azureml.git.repository_uri": "https://user:pw@example.com/r.git",
                "azureml.git.commit": "abc",
                "azureml.git.dirty": "False",
            },
            "environmentVariables": {"A": "1"},
        },
        "systemData": {"createdAt": "2026-01-02T03:04:05Z"},
    }
    job, env = job_from_json(raw, WS)
    assert (job.job_type, job.experiment, job.status, job.archived) == ("sweep", "e", "Running", True)
    assert (job.git_repo_url, job.git_commit, job.git_dirty) == ("https://example.com/r.git", "abc", False)
    assert job.created_at is not None and job.created_at.year == 2026 and job.modified_at is None
    assert env == {"A": "1"}


def test_a_sweep_jobs_trial_environment_is_scanned_too() -> None:
    """A sweep job's variables are those of the job and of its trial (the command each trial runs)."""
    raw = {
        "id": f"{WS}/jobs/sweep-1",
        "name": "sweep-1",
        "properties": {
            "jobType": "Sweep",
            "environmentVariables": {"A": "1"},
            "trial": {"command": "python train.py", "environmentVariables": {"MLFLOW_TRACKING_TOKEN": "x"}},
        },
    }
    _, env = job_from_json(raw, WS)
    assert env == {"A": "1", "MLFLOW_TRACKING_TOKEN": "x"}
