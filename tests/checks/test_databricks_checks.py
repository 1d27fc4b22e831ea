"""Tests of the Databricks checks (mlgov.checks.databricks), evaluated through the policy engine.

(Named `test_databricks_checks.py` rather than `test_databricks.py`: tests/ has no packages, so
module basenames must be unique across the suite, and the collector's tests own that name.)
"""

from __future__ import annotations

import json

import pytest
from dbx_builders import (
    AML_WS,
    HOST,
    NOW,
    WS,
    ago,
    aml_compute,
    aml_job,
    aml_workspace,
    cluster,
    experiment,
    failed,
    findings,
    job,
    job_cluster,
    job_run,
    later,
    repo,
    rid,
    sighting,
    size,
    snapshot,
    task,
    token,
    workspace,
)

from mlgov.codec import encode
from mlgov.findings import Finding, FindingStatus, Severity
from mlgov.inventory import DatabricksWorkspace, SecretSighting
from mlgov.replay import fake_jwt, fake_pat
from mlgov.tokens import classify


def _text(f: Finding) -> str:
    """Everything a finding would show or store, as one string."""
    return json.dumps(encode(f), default=str)


def _collect(env: dict[str, str], **kw: str) -> list[SecretSighting]:
    """What a collector keeps from a set of environment variables: sightings of credentials only."""
    return [sighting(v, key=k, **kw) for k, v in env.items() if classify(k, v) is not None]


# ---------------------------------------------------------------------------------------------
# MLF-001 / MLF-002


def test_expired_jwt_in_cluster_env_is_mlf001_only() -> None:
    """An MLflow token whose exp has passed is MLF-001 (high), with its claims but not its value, and not MLF-002."""
    value = fake_jwt(exp=ago(30), aud="https://management.azure.com/")
    snap = snapshot(databricks=[workspace(secrets=[sighting(value)])])
    [f] = findings(snap, "MLF-001")
    assert findings(snap, "MLF-002") == []
    assert f.severity is Severity.HIGH
    assert f.resource_id == rid("clusters", "0101-000000-shared")
    assert f.resource_kind == "databricks.cluster"
    assert f.scope_id == WS
    assert f.sub_key == "spark_env_vars:MLFLOW_TRACKING_TOKEN"
    assert "Cluster 'shared-ds'" in f.message and "expired on 2026-10-21" in f.message
    assert f.evidence["kind"] == "jwt"
    assert f.evidence["audience_name"] == "Azure Resource Manager"
    assert f.evidence["tenant_id"] == "00000000-0000-0000-0000-000000000000"
    assert f.evidence["app_id"] == "11111111-1111-1111-1111-111111111111"
    assert f.evidence["expires_at"] == "2026-10-21T12:00:00Z"
    text = _text(f)
    for part in value.split("."):
        assert part not in text


def test_jwt_expiring_next_year_is_mlf002_not_mlf001() -> None:
    """A JWT still valid is a plain-text credential (MLF-002, medium), not an expired token."""
    snap = snapshot(databricks=[workspace(secrets=[sighting(fake_jwt(exp=later(365)))])])
    assert findings(snap, "MLF-001") == []
    [f] = findings(snap, "MLF-002")
    assert f.severity is Severity.MEDIUM
    assert "valid until 2027-11-20" in f.message
    assert "audience Azure Databricks" in f.message


def test_jwt_expiring_exactly_now_counts_as_expired() -> None:
    """RFC 7519: a token is not accepted on or after its exp, so exp == now is MLF-001."""
    snap = snapshot(databricks=[workspace(secrets=[sighting(fake_jwt(exp=NOW))])])
    assert len(findings(snap, "MLF-001")) == 1
    assert findings(snap, "MLF-002") == []


def test_expired_jwt_becomes_mlf001_when_evaluated_later() -> None:
    """The same sighting moves from MLF-002 to MLF-001 once the evaluation time passes its expiry."""
    snap = snapshot(databricks=[workspace(secrets=[sighting(fake_jwt(exp=later(2)))])])
    assert len(findings(snap, "MLF-002")) == 1
    assert len(findings(snap, "MLF-001", now=later(3))) == 1
    assert findings(snap, "MLF-002", now=later(3)) == []


def test_pat_in_job_parameter_is_mlf002() -> None:
    """A Databricks PAT in a job parameter is MLF-002 on the job, located by parameter name."""
    s = sighting(
        fake_pat("job-param"),
        key="DATABRICKS_TOKEN",
        location="parameters",
        resource_id=rid("jobs", 101),
        resource_name="nightly-etl",
        resource_kind="databricks.job",
    )
    snap = snapshot(databricks=[workspace(secrets=[s])])
    [f] = findings(snap, "MLF-002")
    assert f.message.startswith("Job 'nightly-etl' holds a Databricks personal access token in plain text")
    assert f.evidence == {"kind": "databricks_pat", "location": "parameters", "key": "DATABRICKS_TOKEN"}
    assert fake_pat("job-param") not in _text(f)


def test_expired_token_in_aml_job_environment_is_reported_on_the_aml_workspace() -> None:
    """Sightings in AML job environment variables belong to the AML workspace scope."""
    s = sighting(
        fake_jwt(exp=ago(1)),
        location="environment_variables",
        resource_id=f"{AML_WS}/jobs/train-42",
        resource_name="train-42",
        resource_kind="aml.job",
    )
    snap = snapshot(aml=[aml_workspace(jobs=[aml_job()], secrets=[s])])
    [f] = findings(snap, "MLF-001")
    assert f.scope_id == AML_WS
    assert f.message.startswith("AML job 'train-42' holds an Entra ID access token")


def test_secret_references_and_plain_values_yield_no_finding() -> None:
    """`{{secrets/scope/key}}` references, variables and ordinary settings are not credentials."""
    env = {
        "MLFLOW_TRACKING_TOKEN": "{{secrets/mlflow/aml-token}}",
        "DATABRICKS_TOKEN": "{{ secrets/ci/pat }}",
        "MLFLOW_TRACKING_URI": "databricks",
        "PYSPARK_PYTHON": "/databricks/python3/bin/python3",
        "API_KEY": "${API_KEY}",
    }
    sightings = _collect(env)
    assert sightings == []
    snap = snapshot(databricks=[workspace(secrets=sightings)])
    assert findings(snap, "MLF-001") == [] and findings(snap, "MLF-002") == []


def test_jwt_shaped_garbage_is_a_named_secret_not_an_expired_token() -> None:
    """A value that looks like a JWT but does not decode is still a literal under a token name (MLF-002 only)."""
    [s] = _collect({"MLFLOW_TRACKING_TOKEN": "eyJhbGciOi.not-base64.x"})
    assert s.token.kind == "named_secret"
    snap = snapshot(databricks=[workspace(secrets=[s])])
    assert findings(snap, "MLF-001") == []
    [f] = findings(snap, "MLF-002")
    assert "a literal secret value" in f.message


def test_two_credentials_on_one_cluster_are_two_findings() -> None:
    """Each (location, key) is its own finding with its own fingerprint."""
    env = {"DATABRICKS_TOKEN": fake_pat("a"), "GIT_URL": "https://" + "x" * 24 + "@github.com/contoso/etl.git"}
    snap = snapshot(databricks=[workspace(secrets=_collect(env))])
    result = findings(snap, "MLF-002")
    assert sorted(f.sub_key or "" for f in result) == ["spark_env_vars:DATABRICKS_TOKEN", "spark_env_vars:GIT_URL"]
    assert len({f.fingerprint for f in result}) == 2
    assert {f.evidence["kind"] for f in result} == {"databricks_pat", "credential_in_url"}


def test_sightings_of_a_workspace_whose_jobs_failed_are_not_evaluated() -> None:
    """MLF needs clusters and jobs: a workspace with a failed jobs listing gets no MLF verdict at all."""
    snap = snapshot(
        databricks=[workspace(secrets=[sighting(fake_jwt(exp=ago(3)))])],
        scopes=[failed(family="jobs")],
    )
    assert findings(snap, "MLF-001") == []


# ---------------------------------------------------------------------------------------------
# EXP-002


def test_experiment_idle_for_120_days_is_stale() -> None:
    """An active experiment whose newest activity is 120 days old is reported with its idle time."""
    exp = experiment(created=ago(400), updated=ago(300), latest_run=ago(120))
    [f] = findings(snapshot(databricks=[workspace(experiments=[exp])]), "EXP-002")
    assert f.severity is Severity.LOW
    assert f.resource_id == rid("experiments", "4242")
    assert f.resource_kind == "databricks.experiment"
    assert f.message == (
        "Experiment '/Users/alice@contoso.com/churn' has had no run or update for more than 90 days "
        "(its latest run dates from 2026-07-23)"
    )
    assert f.evidence["idle_days"] == 120
    assert f.evidence["last_activity_source"] == "latest run"


def test_experiment_active_89_days_ago_is_not_stale() -> None:
    """89 days of quiet is under the 90-day threshold."""
    exp = experiment(created=ago(400), latest_run=ago(89))
    assert findings(snapshot(databricks=[workspace(experiments=[exp])]), "EXP-002") == []


@pytest.mark.parametrize(
    "exp",
    [
        experiment(created=ago(500), updated=ago(10), latest_run=ago(300)),  # recently updated
        experiment(created=ago(5)),  # new, no run yet
        experiment(created=ago(500), latest_run=ago(500), lifecycle="deleted"),  # already deleted
        experiment(),  # no dates at all: no guess
    ],
)
def test_recent_deleted_or_undated_experiments_are_quiet(exp: object) -> None:
    """The newest of run, update and creation counts; deleted or undated experiments are not reported."""
    assert findings(snapshot(databricks=[workspace(experiments=[exp])]), "EXP-002") == []  # type: ignore[list-item]


def test_experiment_without_runs_reports_its_last_change() -> None:
    """An old experiment that never had a run says so."""
    exp = experiment(created=ago(200), updated=ago(150))
    [f] = findings(snapshot(databricks=[workspace(experiments=[exp])]), "EXP-002")
    assert "it has no run; its last change dates from" in f.message
    assert f.evidence["has_runs"] is False


def test_experiment_with_no_run_since_the_horizon_says_so() -> None:
    """Runs searched back 90 days found none: the message says "no run since" that date, not "no run"."""
    exp = experiment(created=ago(400), updated=ago(150), runs_checked_since=ago(90))
    [f] = findings(snapshot(databricks=[workspace(experiments=[exp])]), "EXP-002")
    assert f.message == (
        "Experiment '/Users/alice@contoso.com/churn' has had no run or update for more than 90 days "
        "(no run since 2026-08-22; its last change dates from 2026-06-23)"
    )
    assert f.evidence["has_runs"] is None and f.evidence["runs_checked_since"] == "2026-08-22T12:00:00Z"
    assert f.evidence["last_activity_source"] == "last update" and f.evidence["idle_days"] == 150


def test_experiment_with_no_recent_run_updated_89_days_ago_is_not_stale() -> None:
    """No run since the horizon, but an update 89 days ago: under the 90-day threshold."""
    exp = experiment(created=ago(400), updated=ago(89), runs_checked_since=ago(90))
    assert findings(snapshot(databricks=[workspace(experiments=[exp])]), "EXP-002") == []


def test_runs_checked_back_less_far_than_the_threshold_give_no_guess() -> None:
    """Runs searched back only 30 days say nothing of days 30 to 90: no finding under a 90-day threshold,
    a finding under a 30-day one."""
    exp = experiment(created=ago(400), updated=ago(200), runs_checked_since=ago(30))
    snap = snapshot(databricks=[workspace(experiments=[exp])])
    assert findings(snap, "EXP-002") == []
    [f] = findings(snap, "EXP-002", parameters={"EXP-002": {"stale_after_days": 30}})
    assert "no run since 2026-10-21" in f.message


def test_stale_after_days_override_changes_the_outcome() -> None:
    """With stale_after_days=60 from the config, 70 quiet days become a finding."""
    snap = snapshot(databricks=[workspace(experiments=[experiment(latest_run=ago(70))])])
    assert findings(snap, "EXP-002") == []
    [f] = findings(snap, "EXP-002", parameters={"EXP-002": {"stale_after_days": 60}})
    assert "more than 60 days" in f.message


# ---------------------------------------------------------------------------------------------
# GIT-001


def test_workspace_notebook_task_without_git_source_is_reported() -> None:
    """A notebook task running from a user folder, with no git_source, is listed by path."""
    j = job(tasks=[task("ingest", path="/Workspace/Users/alice@contoso.com/etl", source="WORKSPACE")])
    [f] = findings(snapshot(databricks=[workspace(jobs=[j])]), "GIT-001")
    assert f.resource_id == rid("jobs", 101)
    assert f.message == (
        "Job 'nightly-etl' runs 1 task(s) from workspace paths that are not under Git: "
        "/Workspace/Users/alice@contoso.com/etl (task ingest)"
    )
    assert f.evidence["tasks"] == [
        {
            "task_key": "ingest",
            "kind": "notebook",
            "path": "/Workspace/Users/alice@contoso.com/etl",
            "source": "WORKSPACE",
        }
    ]


@pytest.mark.parametrize(
    ("tasks", "git_url"),
    [
        ([task(source="GIT", path="notebooks/etl")], "https://github.com/contoso/etl.git"),
        ([task(source=None, path="notebooks/etl")], "https://github.com/contoso/etl.git"),
        ([task(source="WORKSPACE", path="/Repos/team/etl/nb")], None),
        ([task(source="WORKSPACE", path="/Workspace/Repos/team/etl/nb")], None),
        ([task(source="WORKSPACE", path="/Workspace/Users/alice@contoso.com/etl-repo/nb")], None),
        (
            [
                task(kind="sql", path="/Workspace/Users/alice@contoso.com/q.sql"),
                task("jar", kind="spark_jar", path=None),
            ],
            None,
        ),
    ],
    ids=["source-git", "git-source-default", "repos", "workspace-repos", "git-folder-from-repos-api", "other-kinds"],
)
def test_git_backed_or_non_code_tasks_are_quiet(tasks: list[object], git_url: str | None) -> None:
    """Tasks from git_source, from a Git folder, or of kinds that run no notebook/file are not reported."""
    j = job(tasks=tasks, git_url=git_url)  # type: ignore[arg-type]
    ws = workspace(jobs=[j], repos=[repo(path="/Users/alice@contoso.com/etl-repo")])
    assert findings(snapshot(databricks=[ws]), "GIT-001") == []


def test_workspace_source_overrides_the_jobs_git_source() -> None:
    """A task with source WORKSPACE runs from the workspace even when the job has a git_source."""
    j = job(tasks=[task(source="WORKSPACE", path="/Shared/etl")], git_url="https://github.com/contoso/etl.git")
    [f] = findings(snapshot(databricks=[workspace(jobs=[j])]), "GIT-001")
    assert "/Shared/etl" in f.message


def test_python_file_without_source_and_no_git_source_is_reported() -> None:
    """A spark_python task with no source and no git_source runs a workspace (or DBFS) file."""
    j = job(tasks=[task(kind="spark_python", path="dbfs:/scripts/score.py", source=None)])
    [f] = findings(snapshot(databricks=[workspace(jobs=[j])]), "GIT-001")
    assert "dbfs:/scripts/score.py (task main)" in f.message


def test_long_task_lists_are_shortened_in_the_message_but_complete_in_evidence() -> None:
    """More than five paths: the message says how many more, the evidence has them all."""
    j = job(tasks=[task(f"t{i}", path=f"/Shared/nb{i}") for i in range(7)])
    [f] = findings(snapshot(databricks=[workspace(jobs=[j])]), "GIT-001")
    assert f.message.endswith("/Shared/nb4 (task t4) and 2 more")
    assert len(f.evidence["tasks"]) == 7  # type: ignore[arg-type]


def test_bundle_jobs_are_exempt_unless_configured_otherwise() -> None:
    """Jobs deployed by an asset bundle are skipped by default; exempt_bundle_jobs=false reports them."""
    j = job(tasks=[task(path="/Workspace/Users/ci/.bundle/etl/prod/files/nb")], bundle_managed=True)
    snap = snapshot(databricks=[workspace(jobs=[j])])
    assert findings(snap, "GIT-001") == []
    assert len(findings(snap, "GIT-001", parameters={"GIT-001": {"exempt_bundle_jobs": False}})) == 1


# ---------------------------------------------------------------------------------------------
# GIT-003


def test_workspace_without_repos_is_reported() -> None:
    """A workspace whose repos listing is empty gets one GIT-003 finding on the workspace."""
    j = job(tasks=[task(source="GIT", path="nb")], git_url="https://github.com/contoso/etl.git")
    [f] = findings(snapshot(databricks=[workspace(jobs=[j])]), "GIT-003")
    assert f.resource_id == WS == f.scope_id
    assert f.resource_kind == "databricks.workspace"
    assert f.message.startswith("Workspace 'dbw-analytics' has no Git folder")
    assert f.evidence["jobs_with_git_source"] == 1


def test_workspace_with_a_repo_is_quiet() -> None:
    """One Git folder is enough."""
    assert findings(snapshot(databricks=[workspace(repos=[repo()])]), "GIT-003") == []


def test_failed_repos_listing_gives_no_git003() -> None:
    """An empty repos list that comes from a failed call is not evidence of no repos."""
    snap = snapshot(databricks=[workspace()], scopes=[failed(family="repos")])
    assert findings(snap, "GIT-003") == []


# ---------------------------------------------------------------------------------------------
# CMP-001


def _cmp_workspace(**kw: object) -> DatabricksWorkspace:
    shared = cluster("0101-shared", "shared-ds", spec=size("Standard_DS3_v2", 2))
    j = job(
        tasks=[
            task("ingest", existing_cluster_id="0101-shared"),
            task("report", job_cluster_key="main"),
        ],
        job_clusters=[job_cluster("main")],
    )
    runs = [
        job_run(1, start=ago(2), tasks=[("ingest", "0101-shared", 2.0), ("report", "job-cl-1", 9.0)]),
        job_run(2, start=ago(9), tasks=[("ingest", "0101-shared", 2.0)]),
        job_run(3, start=ago(20), tasks=[("ingest", None, 1.0)]),  # cluster id left out: the task's cluster
        job_run(4, start=ago(25), tasks=[("ingest", "0202-other", 5.0)]),  # ran elsewhere: not counted
        job_run(5, job_id=999, start=ago(1), tasks=[("ingest", "0101-shared", 50.0)]),  # another job
    ]
    args: dict[str, object] = {"clusters": [shared], "jobs": [j], "runs": runs}
    args.update(kw)
    return workspace(**args)  # type: ignore[arg-type]


def test_task_on_all_purpose_cluster_is_priced_by_hand() -> None:
    """5 h on a 3-node DS3_v2 cluster = 11.25 DBU; x (0.55 - 0.30) premium = 2.81 a month over a 30-day window."""
    [f] = findings(snapshot(databricks=[_cmp_workspace()]), "CMP-001")
    assert f.resource_id == rid("jobs", 101)
    assert f.sub_key is None
    assert f.message == (
        "Job 'nightly-etl' runs task ingest on all-purpose cluster 'shared-ds': automated work there pays "
        "the all-purpose DBU rate instead of the jobs rate"
    )
    assert f.cost is not None
    hours, nodes, dbu_per_node = 2.0 + 2.0 + 1.0, 3, 0.75
    dbu = hours * nodes * dbu_per_node
    assert dbu == 11.25
    assert f.cost.monthly == round(dbu * 30 / 30 * (0.55 - 0.30), 2) == 2.81
    assert f.cost.currency == "USD"
    inputs = dict(f.cost.inputs)
    assert inputs["runs"] == 3 and inputs["task_runs"] == 3
    assert inputs["hours"] == 5.0 and inputs["dbu"] == 11.25
    assert inputs["nodes"] == 3 and inputs["dbu_per_node_hour"] == 0.75
    assert inputs["all_purpose_rate"] == 0.55 and inputs["jobs_rate"] == 0.30
    assert inputs["window_days"] == 30 and inputs["tier"] == "premium"
    assert "databricks" in f.cost.price_source
    assert "all_purpose_rate - jobs_rate" in f.cost.formula


def test_shorter_collection_window_is_scaled_to_a_month() -> None:
    """Runs read over 14 days are scaled by 30/14 (runs older than the window were not collected)."""
    ws = _cmp_workspace(runs=[job_run(1, start=ago(2), tasks=[("ingest", "0101-shared", 5.0)])], runs_window_days=14)
    [f] = findings(snapshot(databricks=[ws]), "CMP-001")
    assert f.cost is not None
    assert f.cost.monthly == round(11.25 * 30 / 14 * 0.25, 2) == 6.03
    assert f.cost.inputs["window_days"] == 14


def test_window_days_parameter_limits_the_runs_used() -> None:
    """window_days=7 keeps only the run of 2 days ago (2 h = 4.5 DBU) and scales it by 30/7."""
    [f] = findings(snapshot(databricks=[_cmp_workspace()]), "CMP-001", parameters={"CMP-001": {"window_days": 7}})
    assert f.cost is not None
    assert f.cost.inputs["runs"] == 1
    assert f.cost.monthly == round(4.5 * 30 / 7 * 0.25, 2)


def test_dbu_tier_override_and_driver_node_type_are_priced() -> None:
    """Standard tier rates (0.40 / 0.15) and a DS4_v2 driver (1.5 DBU/h) with 2 DS3_v2 workers (0.75 each)."""
    shared = cluster("0101-shared", spec=size("Standard_DS3_v2", 2, driver="Standard_DS4_v2"))
    ws = _cmp_workspace(clusters=[shared], runs=[job_run(1, tasks=[("ingest", "0101-shared", 2.0)])])
    [f] = findings(snapshot(databricks=[ws]), "CMP-001", parameters={"CMP-001": {"dbu_tier": "standard"}})
    assert f.cost is not None
    assert f.cost.inputs["dbu_per_hour"] == 3.0
    assert f.cost.inputs["all_purpose_rate"] == 0.40 and f.cost.inputs["jobs_rate"] == 0.15
    assert f.cost.monthly == round(2.0 * 3.0 * (0.40 - 0.15), 2)


def test_single_task_run_without_task_breakdown_is_counted() -> None:
    """A run reported without tasks is attributed to the job's only task."""
    shared = cluster("0101-shared")
    j = job(tasks=[task("only", existing_cluster_id="0101-shared")])
    ws = workspace(clusters=[shared], jobs=[j], runs=[job_run(1, duration_hours=4.0)])
    [f] = findings(snapshot(databricks=[ws]), "CMP-001")
    assert f.cost is not None
    assert f.cost.monthly == round(4.0 * 2.25 * 0.25, 2)


def test_task_on_job_cluster_is_not_cmp001() -> None:
    """Tasks on job clusters, new clusters or serverless compute are the compliant form."""
    j = job(
        tasks=[task("a", job_cluster_key="main"), task("b", compute="serverless"), task("c", compute="new_cluster")]
    )
    ws = workspace(jobs=[j], clusters=[cluster()])
    assert findings(snapshot(databricks=[ws]), "CMP-001") == []


def test_existing_cluster_created_by_a_pipeline_is_not_all_purpose() -> None:
    """Only UI/API clusters are all-purpose; a known cluster of another source is left alone."""
    ws = workspace(
        clusters=[cluster("0303-pipe", source="PIPELINE")],
        jobs=[job(tasks=[task(existing_cluster_id="0303-pipe")])],
    )
    assert findings(snapshot(databricks=[ws]), "CMP-001") == []


def test_unknown_cluster_is_reported_without_cost() -> None:
    """A cluster id that clusters/list does not know is still all-purpose; its size is unknown, so no cost."""
    ws = workspace(
        jobs=[job(tasks=[task(existing_cluster_id="0909-gone")])], runs=[job_run(1, tasks=[("main", "0909-gone", 1)])]
    )
    [f] = findings(snapshot(databricks=[ws]), "CMP-001")
    assert "cluster 0909-gone, which is not in the cluster list" in f.message
    assert f.cost is None
    assert f.evidence["tasks"][0]["cluster_known"] is False  # type: ignore[index]
    assert "not in the cluster list" in str(f.evidence["cost_unavailable"])


def test_unpriced_node_type_gives_no_cost_and_says_why() -> None:
    """A node type absent from the price book is named in the evidence instead of a made-up figure."""
    odd = cluster("0101-shared", spec=size("Standard_Odd_v9", 1))
    ws = _cmp_workspace(clusters=[odd])
    [f] = findings(snapshot(databricks=[ws]), "CMP-001")
    assert f.cost is None
    assert "Standard_Odd_v9" in str(f.evidence["cost_unavailable"])


def test_no_runs_in_window_gives_no_cost() -> None:
    """A job that did not run in the window has no measured saving."""
    [f] = findings(snapshot(databricks=[_cmp_workspace(runs=[])]), "CMP-001")
    assert f.cost is None
    assert "no completed run" in str(f.evidence["cost_unavailable"])


def test_one_finding_per_job_lists_every_cluster() -> None:
    """Tasks on two all-purpose clusters make one finding naming both."""
    ws = workspace(
        clusters=[cluster("c1", "shared-ds"), cluster("c2", "gpu-dev", spec=size("Standard_NC6s_v3", 0))],
        jobs=[
            job(
                tasks=[
                    task("a", existing_cluster_id="c1"),
                    task("b", existing_cluster_id="c1"),
                    task("c", existing_cluster_id="c2"),
                ]
            )
        ],
        runs=[job_run(1, tasks=[("a", "c1", 1.0), ("c", "c2", 1.0)])],
    )
    [f] = findings(snapshot(databricks=[ws]), "CMP-001")
    assert "tasks a, b on all-purpose cluster 'shared-ds'; task c on all-purpose cluster 'gpu-dev'" in f.message
    assert f.cost is not None
    assert f.cost.monthly == round((1.0 * 2.25 + 1.0 * 3.0) * 0.25, 2)
    assert "clusters" in f.cost.inputs


def test_failed_runs_family_leaves_cmp001_unevaluated() -> None:
    """CMP-001 needs the runs: without them the workspace is not evaluated (and not resolved)."""
    snap = snapshot(databricks=[_cmp_workspace()], scopes=[failed(family="runs")])
    assert findings(snap, "CMP-001") == []


# ---------------------------------------------------------------------------------------------
# CST-001


def test_cluster_that_never_terminates_is_reported_with_idle_cost() -> None:
    """autotermination 0 on an all-purpose cluster: message names the setting, evidence prices an idle hour."""
    [f] = findings(snapshot(databricks=[workspace(clusters=[cluster(autotermination=0)])]), "CST-001")
    assert f.message == "Cluster 'shared-ds' never auto-terminates (autotermination_minutes=0)"
    assert f.resource_kind == "databricks.cluster"
    assert f.evidence["node_type"] == "Standard_DS3_v2"
    assert f.evidence["workers"] == "2"
    # westeurope DS3_v2 VM 0.334/h x 3 nodes + 2.25 DBU/h x 0.55 all-purpose premium rate
    assert f.evidence["idle_cost_per_hour"] == pytest.approx(3 * 0.334 + 2.25 * 0.55, abs=1e-3)


def test_unset_autotermination_is_reported() -> None:
    """A cluster without the setting never terminates either."""
    [f] = findings(snapshot(databricks=[workspace(clusters=[cluster(autotermination=None)])]), "CST-001")
    assert "autotermination_minutes=unset" in f.message


def test_autotermination_120_is_fine_and_240_is_not() -> None:
    """120 minutes is the default limit; 240 is above it."""
    ws = workspace(clusters=[cluster("a", "ok", autotermination=120), cluster("b", "slow", autotermination=240)])
    [f] = findings(snapshot(databricks=[ws]), "CST-001")
    assert f.message == "Cluster 'slow' auto-terminates only after 240 idle minutes (limit 120)"


def test_max_minutes_override_tightens_the_limit() -> None:
    """max_minutes=60 makes a 120-minute cluster a finding."""
    snap = snapshot(databricks=[workspace(clusters=[cluster(autotermination=120)])])
    assert len(findings(snap, "CST-001", parameters={"CST-001": {"max_minutes": 60}})) == 1


def test_job_clusters_are_never_cst001() -> None:
    """Clusters created by the job scheduler end with their run."""
    ws = workspace(clusters=[cluster("j1", "job-101-run-1", source="JOB", autotermination=0)])
    assert findings(snapshot(databricks=[ws]), "CST-001") == []


def test_autoscaling_cluster_with_unpriced_nodes_still_reported() -> None:
    """The finding stands without prices; evidence shows the autoscale range and why no idle cost."""
    c = cluster(spec=size("Standard_Odd_v9", autoscale=(1, 8)))
    [f] = findings(snapshot(databricks=[workspace(clusters=[c])]), "CST-001")
    assert f.evidence["workers"] == "autoscale 1-8"
    assert f.evidence["idle_cost_per_hour"] is None


# ---------------------------------------------------------------------------------------------
# CST-004


def test_on_demand_job_clusters_are_reported_per_cluster_key() -> None:
    """Unset and ON_DEMAND_AZURE availabilities are on-demand; each job cluster is its own finding."""
    j = job(job_clusters=[job_cluster("etl"), job_cluster("ml", availability="ON_DEMAND_AZURE")])
    result = findings(snapshot(databricks=[workspace(jobs=[j])]), "CST-004")
    assert [(f.resource_id, f.sub_key) for f in result] == [(rid("jobs", 101), "etl"), (rid("jobs", 101), "ml")]
    assert len({f.fingerprint for f in result}) == 2
    msg = {f.sub_key: f.message for f in result}
    assert msg["etl"] == (
        "Job 'nightly-etl' job cluster 'etl' runs its workers on on-demand VMs "
        "(availability not set, so ON_DEMAND_AZURE)"
    )
    assert "(availability ON_DEMAND_AZURE)" in msg["ml"]


@pytest.mark.parametrize(
    "jc",
    [
        job_cluster(availability="SPOT_WITH_FALLBACK_AZURE", first_on_demand=1),
        job_cluster(availability="SPOT_AZURE"),
        job_cluster(workers=0),  # single node: nothing to put on spot
    ],
    ids=["spot-with-fallback", "spot", "single-node"],
)
def test_spot_or_single_node_job_clusters_are_fine(jc: object) -> None:
    """Spot job clusters (with or without fallback) and single-node clusters are not reported."""
    ws = workspace(jobs=[job(job_clusters=[jc])])  # type: ignore[list-item]
    assert findings(snapshot(databricks=[ws]), "CST-004") == []


def test_dedicated_aml_compute_clusters_are_reported_low_priority_ones_are_not() -> None:
    """AmlCompute with Dedicated (or unset) priority is reported; LowPriority and compute instances are not."""
    computes = [
        aml_compute("cpu-dedicated"),
        aml_compute("cpu-unset", priority=None),
        aml_compute("cpu-lowpri", priority="LowPriority"),
        aml_compute("ci-alice", compute_type="ComputeInstance"),
    ]
    result = findings(snapshot(aml=[aml_workspace(computes=computes)]), "CST-004")
    assert [f.resource_name for f in result] == ["cpu-dedicated", "cpu-unset"]
    assert all(f.scope_id == AML_WS and f.resource_kind == "aml.compute" for f in result)
    assert result[0].message == "AML compute cluster 'cpu-dedicated' uses dedicated VMs (vm_priority Dedicated)"


def test_failed_aml_computes_leave_the_databricks_part_evaluated() -> None:
    """Scopes are per plane: a failed AML computes listing does not hide Databricks job clusters."""
    snap = snapshot(
        databricks=[workspace(jobs=[job(job_clusters=[job_cluster()])])],
        aml=[aml_workspace(computes=[aml_compute()])],
        scopes=[failed(AML_WS, "computes", scope_kind="aml_workspace")],
    )
    result = findings(snap, "CST-004")
    assert [f.scope_id for f in result] == [WS]


# ---------------------------------------------------------------------------------------------
# IAM-002


def test_token_that_never_expires_is_reported() -> None:
    """No expiry at all is the worst case."""
    [f] = findings(snapshot(databricks=[workspace(tokens=[token(created=ago(10))])]), "IAM-002")
    assert f.message == "Personal access token 'ci deploy' of alice@contoso.com never expires"
    assert f.resource_id == rid("tokens", "tok-1")
    assert f.resource_kind == "databricks.token"
    assert f.evidence["lifetime_days"] is None


def test_90_day_token_is_fine_365_day_token_is_not() -> None:
    """Lifetime is expiry minus creation: 90 days is within the limit, 365 is above it."""
    ws = workspace(
        tokens=[
            token("t90", created=ago(10), expires=ago(10) + (later(90) - NOW), comment="ok"),
            token("t365", created=ago(10), expires=later(355), comment="yearly"),
        ]
    )
    [f] = findings(snapshot(databricks=[ws]), "IAM-002")
    assert f.resource_name == "yearly"
    assert f.evidence["lifetime_days"] == 365
    assert "lifetime of 365 days (limit 90)" in f.message


def test_expired_or_undated_tokens() -> None:
    """An already-expired token is left out; without a creation date the remaining life is a lower bound."""
    ws = workspace(
        tokens=[
            token("old", created=ago(800), expires=ago(70), comment=None),
            token("nocreate", created=None, expires=later(200), comment=None),
        ]
    )
    [f] = findings(snapshot(databricks=[ws]), "IAM-002")
    assert f.resource_name == "token nocreate"
    assert "at least 200 days" in f.message


def test_max_days_override() -> None:
    """max_days=30 makes a 60-day token a finding."""
    snap = snapshot(databricks=[workspace(tokens=[token(created=ago(1), expires=later(59))])])
    assert findings(snap, "IAM-002") == []
    assert len(findings(snap, "IAM-002", parameters={"IAM-002": {"max_days": 30}})) == 1


# ---------------------------------------------------------------------------------------------
# Common properties


def test_every_databricks_finding_is_a_fail_in_its_workspace_scope() -> None:
    """Findings of all Databricks policies are `fail`, carry remediation and belong to the workspace scope."""
    ws = workspace(
        clusters=[cluster()],
        jobs=[job(tasks=[task(existing_cluster_id="0101-000000-shared")], job_clusters=[job_cluster()])],
        runs=[job_run(1, tasks=[("main", "0101-000000-shared", 1.0)])],
        experiments=[experiment(latest_run=ago(300))],
        tokens=[token(created=ago(1))],
        secrets=[sighting(fake_jwt(exp=ago(1))), sighting(fake_pat("x"), key="DATABRICKS_TOKEN")],
    )
    from dbx_builders import run

    result = run(snapshot(databricks=[ws]))
    assert {f.policy_id for f in result.findings} == {
        "MLF-001",
        "MLF-002",
        "EXP-002",
        "GIT-001",
        "GIT-003",
        "CMP-001",
        "CST-001",
        "CST-004",
        "IAM-002",
    }
    for f in result.findings:
        assert f.status is FindingStatus.FAIL
        assert f.scope_id == WS
        assert f.remediation is not None and f.remediation.doc_url
        assert f.resource_id.startswith(f"databricks://{HOST}")
    assert len({f.fingerprint for f in result.findings}) == len(result.findings)
