"""The Databricks collector, through the real databricks-sdk client against recorded HTTP."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

import cassette_builder
from mlgov.audit import AuditOptions, collect, configured_targets
from mlgov.codec import encode
from mlgov.collectors.databricks import collect_workspace, failure_status, ms_to_datetime
from mlgov.config import parse_config
from mlgov.context import AuditContext
from mlgov.inventory import DatabricksWorkspace, ScopeStatus
from mlgov.replay import fake_pat, replaying

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes" / "databricks"
HOST = cassette_builder.TEST_HOST
SCOPE = f"databricks://{HOST}"
FAMILIES = ["clusters", "jobs", "runs", "repos", "experiments", "tokens"]


class FakeClock:
    """A databricks-sdk clock that never sleeps: time moves only when the SDK sleeps."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class RecordingListener:
    """Keeps every progress event."""

    events: list[tuple[Any, ...]] = field(default_factory=list)

    def scope_started(self, scope_id: str, label: str) -> None:
        self.events.append(("started", scope_id, label))

    def family_done(self, scope_id: str, family: str, count: int, ok: bool) -> None:
        self.events.append(("family", scope_id, family, count, ok))

    def scope_finished(self, scope_id: str, ok: bool) -> None:
        self.events.append(("finished", scope_id, ok))


@dataclass
class Outcome:
    workspace: DatabricksWorkspace
    statuses: list[ScopeStatus]
    cassette: Any
    clock: FakeClock
    listener: RecordingListener
    ctx: AuditContext

    def status(self, family: str) -> ScopeStatus:
        return next(s for s in self.statuses if s.family == family)


def make_config(collection: dict[str, Any] | None = None, policies: dict[str, Any] | None = None) -> Any:
    raw: dict[str, Any] = {
        "version": 1,
        "databricks": {
            "workspaces": [
                {"host": HOST, "name": "test-ws", "auth": {"type": "pat", "token": fake_pat("mlgov-tests")}}
            ]
        },
    }
    if collection:
        raw["collection"] = collection
    if policies:
        raw["policies"] = policies
    return parse_config(raw)


def run(cassette: str, **collection: Any) -> Outcome:
    config = make_config(collection)
    clock = FakeClock()
    ctx = AuditContext(config, databricks_overrides={"clock": clock})
    listener = RecordingListener()
    with replaying(CASSETTES / cassette) as cass:
        workspace, statuses = collect_workspace(ctx, configured_targets(config)[0], listener)
        assert cass.all_played, "every recorded interaction should have been requested"
    return Outcome(workspace, statuses, cass, clock, listener, ctx)


@pytest.fixture(scope="module")
def full() -> Outcome:
    return run("workspace_full.yaml")


def by_id(items: Any, attr: str) -> dict[Any, Any]:
    return {getattr(i, attr): i for i in items}


def near(when: datetime | None, days: float, tolerance_hours: float = 2) -> bool:
    expected = datetime.now(UTC) + timedelta(days=days)
    return when is not None and abs((when - expected).total_seconds()) < tolerance_hours * 3600


# --- the cassettes themselves --------------------------------------------------------------------


def test_committed_cassettes_match_the_builder() -> None:
    """The YAML cassettes are exactly what tests/cassette_builder.py writes (re-run it after edits)."""
    for path, text in cassette_builder.outputs().items():
        assert path.read_text(encoding="utf-8") == text, f"{path.name} is stale: run tests/cassette_builder.py"


def test_cassettes_hold_no_literal_secret() -> None:
    """Committed cassettes only hold placeholders: no PAT literal, JWT or bearer header."""
    for path in [*CASSETTES.glob("*.yaml"), cassette_builder.DEMO_CASSETTE]:
        text = path.read_text(encoding="utf-8")
        assert "dapi" not in text and "eyJ" not in text and "Bearer" not in text, path.name


# --- a complete workspace ------------------------------------------------------------------------


def test_every_family_is_read_and_reported(full: Outcome) -> None:
    """Each family yields one ok ScopeStatus with its request count, and a progress event."""
    assert [s.family for s in full.statuses] == FAMILIES
    assert all(s.ok and s.scope_id == SCOPE and s.scope_kind == "databricks_workspace" for s in full.statuses)
    calls = {s.family: s.calls for s in full.statuses}
    # clusters: 2 pages + pinned filter; jobs: 2 pages + 2 pages of jobs/get; runs: 2 pages + 1 page;
    # experiments: 2 search pages + 2 batched run searches (the first page was full).
    assert calls == {"clusters": 3, "jobs": 4, "runs": 3, "repos": 2, "experiments": 4, "tokens": 1}
    # Families are read concurrently: their progress events come in completion order.
    done = sorted(e[2:] for e in full.listener.events if e[0] == "family")
    assert done == sorted([("clusters", 3, True), ("jobs", 4, True), ("runs", 4, True), ("repos", 2, True),
                           ("experiments", 4, True), ("tokens", 4, True)])


def test_requests_go_through_the_context_limiters(full: Outcome) -> None:
    """Every request is counted by the limiter of its API family; MLflow searches have their own."""
    assert full.ctx.limit("mlflow_search").calls == 4
    # + 1: the SDK's host-metadata probe (GET /.well-known/databricks-config) when the client is built.
    assert full.ctx.limit("databricks").calls == 3 + 4 + 3 + 2 + 1 + 1
    assert full.ctx.limit("databricks").in_flight == 0


def test_workspace_identity(full: Outcome) -> None:
    """The record is named after the target and the runs window comes from the config."""
    ws = full.workspace
    assert (ws.resource_id, ws.host, ws.name, ws.runs_window_days) == (SCOPE, HOST, "test-ws", 30)


def test_clusters_from_every_page_with_size_and_pinning(full: Outcome) -> None:
    """Clusters of both pages are read with source, state, size, spot settings and the pinned flag."""
    clusters = by_id(full.workspace.clusters, "cluster_id")
    assert set(clusters) == {"0101-000000-etl1", "0101-000000-ds2", "0101-000000-job3"}
    etl = clusters["0101-000000-etl1"]
    assert etl.resource_id == f"{SCOPE}/clusters/0101-000000-etl1"
    assert (etl.name, etl.source, etl.state, etl.autotermination_minutes) == ("etl-interactive", "UI", "RUNNING", 0)
    assert etl.is_pinned and etl.is_all_purpose
    assert etl.size.node_type_id == "Standard_DS3_v2" and etl.size.num_workers == 2
    assert (etl.size.availability, etl.size.first_on_demand, etl.size.policy_id) == ("ON_DEMAND_AZURE", 1, "POL1")
    ds = clusters["0101-000000-ds2"]
    assert (ds.source, ds.state, ds.is_pinned) == ("API", "TERMINATED", False)
    # Autoscaling: the current num_workers is not the configured size.
    assert (ds.size.num_workers, ds.size.autoscale_min, ds.size.autoscale_max) == (None, 1, 4)
    assert ds.size.availability == "SPOT_WITH_FALLBACK_AZURE"
    job = clusters["0101-000000-job3"]
    assert job.source == "JOB" and not job.is_all_purpose


def test_jobs_from_every_page_with_all_tasks_beyond_the_first_hundred(full: Outcome) -> None:
    """A job listed with has_more is completed through jobs/get: all 130 tasks and both job clusters."""
    jobs = by_id(full.workspace.jobs, "job_id")
    assert set(jobs) == {11, 12, 13, 14}
    big = jobs[13]
    assert len(big.tasks) == 130
    assert [t.task_key for t in big.tasks] == [f"t{i:03d}" for i in range(130)]
    assert [c.key for c in big.job_clusters] == ["pool", "pool2"]
    last = big.tasks[-1]
    assert (last.compute, last.existing_cluster_id, last.path) == ("existing_cluster", "0101-000000-etl1",
                                                                  "fanout/final")


def test_task_compute_kind_path_and_source(full: Outcome) -> None:
    """Each task says what it runs, from where, and on which compute."""
    tasks = by_id(by_id(full.workspace.jobs, "job_id")[11].tasks, "task_key")
    summary = {k: (t.kind, t.compute) for k, t in tasks.items()}
    assert summary == {
        "ingest": ("notebook", "job_cluster"),
        "train": ("spark_python", "serverless"),
        "wheel": ("python_wheel", "existing_cluster"),
        "submit": ("spark_submit", "new_cluster"),
        "gate": ("condition", "none"),
        "trigger_other": ("run_job", "none"),
        "loop": ("notebook", "existing_cluster"),  # the task a for_each repeats
    }
    assert (tasks["ingest"].path, tasks["ingest"].source, tasks["ingest"].job_cluster_key) == (
        "ingest/main", "GIT", "etl")
    assert (tasks["train"].path, tasks["train"].source) == ("train.py", "GIT")
    assert (tasks["loop"].path, tasks["loop"].source) == ("/Workspace/Users/a@contoso.com/loop", "WORKSPACE")
    assert tasks["loop"].existing_cluster_id == "0101-000000-ds2"
    assert tasks["gate"].path is None and tasks["gate"].source is None
    serverless = by_id(full.workspace.jobs, "job_id")[14].tasks[0]
    assert (serverless.compute, serverless.source) == ("serverless", None)


def test_job_clusters_include_task_new_clusters(full: Outcome) -> None:
    """Job clusters and a task's own new_cluster (key task:<task_key>) are recorded with their size."""
    clusters = by_id(by_id(full.workspace.jobs, "job_id")[11].job_clusters, "key")
    assert set(clusters) == {"etl", "task:submit"}
    assert clusters["etl"].size.availability == "ON_DEMAND_AZURE"
    assert clusters["task:submit"].size.availability == "SPOT_AZURE"
    assert clusters["task:submit"].size.num_workers == 2


def test_job_git_schedule_bundle_and_creation(full: Outcome) -> None:
    """git_url, scheduled (schedule, trigger, continuous; paused is not), bundle and creation time."""
    jobs = by_id(full.workspace.jobs, "job_id")
    nightly = jobs[11]
    assert nightly.resource_id == f"{SCOPE}/jobs/11"
    assert (nightly.name, nightly.creator) == ("nightly-etl", "someone@contoso.com")
    assert nightly.git_url == "https://github.com/contoso/etl"
    assert nightly.scheduled and nightly.bundle_managed
    assert near(nightly.created_at, -200)
    adhoc = jobs[12]
    assert adhoc.git_url is None and not adhoc.scheduled and not adhoc.bundle_managed
    assert jobs[14].scheduled  # continuous, unpaused
    assert jobs[13].scheduled


def test_runs_only_for_jobs_with_existing_cluster_tasks(full: Outcome) -> None:
    """Runs are read (every page) for jobs 11 and 13 only; jobs 12 and 14 cost no request.

    The cassette has no runs/list interaction for 12 or 14: asking for one would fail the replay.
    """
    runs = by_id(full.workspace.runs, "run_id")
    assert set(runs) == {1101, 1102, 1103, 1301}
    assert {r.job_id for r in runs.values()} == {11, 13}
    first = runs[1101]
    assert first.duration_ms == 52 * 60_000
    assert near(first.start_time, -1)
    assert [(t.task_key, t.cluster_id, t.duration_ms) for t in first.tasks] == [
        ("wheel", "0101-000000-etl1", 42 * 60_000), ("loop", "0101-000000-ds2", 10 * 60_000)]
    legacy = runs[1102]  # setup + execution + cleanup when run_duration is absent
    assert legacy.duration_ms == 38 * 60_000 and legacy.tasks[0].duration_ms == 38 * 60_000
    assert runs[1103].tasks[0].cluster_id is None
    assert runs[1301].tasks[0].cluster_id == "0101-000000-etl1"


def test_repos_from_every_page_without_credentials(full: Outcome) -> None:
    """Repos of both pages are read; a URL with a token is stripped and reported as a sighting."""
    repos = by_id(full.workspace.repos, "repo_id")
    assert set(repos) == {1, 2}
    assert repos[1].url == "https://github.com/contoso/etl.git" and repos[1].branch == "main"
    assert repos[2].url == "https://dev.azure.com/contoso/ml/_git/ml"
    assert repos[2].provider == "azureDevOpsServices" and repos[2].resource_id == f"{SCOPE}/repos/2"
    sighting = next(s for s in full.workspace.secrets if s.resource_kind == "databricks.repo")
    assert (sighting.resource_id, sighting.location, sighting.token.kind) == (repos[2].resource_id, "url",
                                                                             "credential_in_url")


def test_experiments_look_up_runs_only_when_not_recently_updated(full: Outcome) -> None:
    """An experiment updated within the horizon gets no run lookup; older ones get their newest run
    since the horizon, or say that runs were checked back to it and none was found."""
    exps = by_id(full.workspace.experiments, "experiment_id")
    assert set(exps) == {"100", "101", "102", "103"}
    active = exps["100"]
    assert active.latest_run_at is None and active.runs_checked_since is None and near(active.last_update_at, -3)
    assert active.last_update_at is not None and active.last_update_at.tzinfo == UTC
    assert near(exps["102"].latest_run_at, -10)  # the end of the newest run, later than its start
    for stale in ("101", "103"):  # no run since the horizon: the exact latest run is unknown
        assert exps[stale].latest_run_at is None and near(exps[stale].runs_checked_since, -90)
    assert near(exps["102"].runs_checked_since, -90)
    assert exps["103"].last_update_at is None
    assert exps["101"].name == "/Users/a@contoso.com/stale" and exps["101"].lifecycle_stage == "active"
    assert near(exps["101"].created_at, -400)


def test_run_lookups_are_batched_and_a_full_page_is_asked_again_for_the_others_only(full: Outcome) -> None:
    """One runs/search covers the three candidates; its full first page is followed by a search for
    the two experiments it did not show, never by a run search per experiment."""
    searches = [json.loads(r.body) for r in full.cassette.requests if r.path.endswith("/mlflow/runs/search")]
    assert [s["experiment_ids"] for s in searches] == [["101", "102", "103"], ["101", "103"]]
    horizon_ms = int((datetime.now(UTC) - timedelta(days=90)).timestamp() * 1000)
    for search in searches:
        assert search["order_by"] == ["attributes.start_time DESC"] and search["max_results"] == 1000
        op, value = search["filter"].removeprefix("attributes.start_time ").split(" ")
        assert op == ">=" and abs(int(value) - horizon_ms) < 3_600_000
        assert "page_token" not in search


def test_run_search_horizon_counts_from_the_start_of_the_collection() -> None:
    """A workspace read long after the audit started still searches runs back to the snapshot's time
    minus the horizon, so EXP-002 (which takes the snapshot's time as now) can trust "no run since"."""
    from mlgov.catalogue import load_catalogue
    from mlgov.engine import evaluate
    from mlgov.prices import load_prices
    from mlgov.snapshot import Snapshot

    config = make_config()
    ctx = AuditContext(config, databricks_overrides={"clock": FakeClock()})
    started = (datetime.now(UTC) - timedelta(hours=5)).replace(microsecond=0)
    ctx.collection_started_at = started
    with replaying(CASSETTES / "workspace_full.yaml"):
        workspace, statuses = collect_workspace(ctx, configured_targets(config)[0], RecordingListener())
    stale = by_id(workspace.experiments, "experiment_id")["101"]
    assert stale.runs_checked_since == started - timedelta(days=90)
    snap = Snapshot(taken_at=started, scopes=tuple(statuses), databricks=(workspace,))
    found = {f.resource_id.rsplit("/", 1)[-1] for f in evaluate(snap, load_catalogue(), load_prices(),
                                                                only=["EXP-002"]).findings}
    assert found == {"101", "103"}


def test_tokens_expiry_and_never_expiring(full: Outcome) -> None:
    """expiry_time -1 or missing means never; times are epoch ms turned into UTC datetimes."""
    tokens = by_id(full.workspace.tokens, "token_id")
    assert tokens["t-never"].expires_at is None and near(tokens["t-never"].last_used_at, -1)
    assert near(tokens["t-year"].expires_at, 355) and near(tokens["t-year"].created_at, -10)
    assert tokens["t-year"].created_by == "a@contoso.com" and tokens["t-year"].comment == "VS Code"
    assert tokens["t-bare"].expires_at is None and tokens["t-bare"].created_at is None
    assert tokens["t-short"].resource_id == f"{SCOPE}/tokens/t-short"


def test_secrets_are_found_in_every_place_and_references_are_not(full: Outcome) -> None:
    """Every env var, Spark conf and parameter place is scanned; {{secrets/...}} references are not sightings."""
    found = {(s.resource_id.rsplit("/", 2)[-2], s.location, s.key, s.token.kind) for s in full.workspace.secrets}
    assert found == {
        ("clusters", "spark_env_vars", "MLFLOW_TRACKING_TOKEN", "jwt"),
        ("clusters", "spark_conf", "spark.databricks.service.token", "jwt"),
        ("jobs", "job_clusters[etl].new_cluster.spark_env_vars", "DATABRICKS_TOKEN", "databricks_pat"),
        ("jobs", "parameters", "api_token", "databricks_pat"),
        ("jobs", "environment_variables[default].spec.variables", "SERVICE_PASSWORD", "named_secret"),
        ("jobs", "environments[serverless-env].spec", "dependencies[1]", "credential_in_url"),
        ("jobs", "tasks[train].spark_python_task", "parameters[1]", "jwt"),
        ("jobs", "tasks[wheel].python_wheel_task.named_parameters", "password", "named_secret"),
        ("jobs", "tasks[wheel].python_wheel_task", "parameters[0]", "databricks_pat"),
        ("jobs", "tasks[submit].spark_submit_task", "parameters[2]", "databricks_pat"),
        ("jobs", "tasks[submit].new_cluster.spark_env_vars", "AZURE_CLIENT_SECRET", "named_secret"),
        ("jobs", "tasks[loop].for_each_task.task.notebook_task.base_parameters", "MLFLOW_TRACKING_TOKEN", "jwt"),
        ("jobs", "tasks[t129].notebook_task.base_parameters", "DB_PASSWORD", "named_secret"),
        ("repos", "url", "url", "credential_in_url"),
    }
    keys = {s.key for s in full.workspace.secrets}
    assert not keys & {"STORAGE_KEY", "token", "spark.hadoop.fs.azure.account.oauth2.client.secret", "run_date"}
    expired = next(s for s in full.workspace.secrets if s.key == "MLFLOW_TRACKING_TOKEN" and s.location ==
                   "spark_env_vars")
    assert expired.resource_name == "etl-interactive" and expired.resource_kind == "databricks.cluster"
    assert near(expired.token.expires_at, -30) and expired.token.audience == "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d"


def test_no_secret_value_reaches_the_record(full: Outcome) -> None:
    """The serialised workspace record holds no token, password or credential from the cassette."""
    text = json.dumps(encode(full.workspace))
    for fragment in ("dapi", "eyJ", "hunter2", "plaintext-pass", "s3cr3t", "notreal", "build:"):
        assert fragment not in text


def test_azureml_tracking_uri_is_recorded(full: Outcome) -> None:
    """An azureml:// MLflow URI in Spark conf becomes a UriSighting naming the AML workspace."""
    (uri,) = full.workspace.mlflow_uris
    assert uri.resource_id == f"{SCOPE}/clusters/0101-000000-ds2" and uri.key == "spark.mlflow.trackingUri"
    assert uri.workspace_id == ("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-ml"
                                "/providers/Microsoft.MachineLearningServices/workspaces/mlw-one")
    assert uri.uri.startswith("azureml://westeurope.api.azureml.ms/mlflow/v1.0/")


# --- throttling and failures ---------------------------------------------------------------------


def test_429_with_retry_after_is_retried_then_succeeds() -> None:
    """A 429 with Retry-After: 7 makes the SDK sleep about 7 s on the injected clock, then read the page."""
    out = run("throttled.yaml")
    assert all(s.ok for s in out.statuses)
    assert [c.cluster_id for c in out.workspace.clusters] == ["0202-000000-a"]
    assert any(7 <= s < 8 for s in out.clock.sleeps), out.clock.sleeps
    assert out.status("clusters").calls == 2  # the retried list counts once, then the pinned filter
    assert out.cassette.play_count == len(out.cassette)


def test_throttling_past_the_retry_deadline_fails_only_that_family() -> None:
    """When Retry-After outlasts the retry deadline, clusters fail with 429 and a hint; jobs are still read."""
    out = run("retry_deadline.yaml", retry_timeout_seconds=5)
    failed = out.status("clusters")
    assert not failed.ok
    assert (failed.status, failed.code) == (429, "REQUEST_LIMIT_EXCEEDED")
    assert failed.error is not None and "deadline" in failed.error
    assert failed.hint is not None and "retry_timeout_seconds" in failed.hint
    assert [s.family for s in out.statuses if not s.ok] == ["clusters"]
    assert out.workspace.clusters == () and len(out.workspace.jobs) == 1


def test_403_on_tokens_fails_that_family_only() -> None:
    """Token management answering 403 gives tokens ok=False with status, code and hint; the rest is collected."""
    out = run("tokens_forbidden.yaml")
    tokens = out.status("tokens")
    assert not tokens.ok
    assert (tokens.status, tokens.code) == (403, "PERMISSION_DENIED")
    assert tokens.hint == "Token management needs workspace admin; grant the audit principal admin or disable IAM-002."
    assert tokens.error == "Only Admins can access token management APIs"
    assert all(s.ok for s in out.statuses if s.family != "tokens")
    ws = out.workspace
    assert (len(ws.clusters), len(ws.jobs), len(ws.runs), len(ws.repos), len(ws.experiments)) == (1, 1, 1, 1, 1)
    assert ws.tokens == ()
    assert ("family", SCOPE, "tokens", 0, False) in out.listener.events


def test_runs_are_skipped_when_jobs_cannot_be_read() -> None:
    """A 403 on jobs fails jobs and marks runs as not read (no request), never as complete."""
    out = run("jobs_forbidden.yaml")
    assert (out.status("jobs").ok, out.status("jobs").status) == (False, 403)
    runs = out.status("runs")
    assert (runs.ok, runs.code, runs.calls) == (False, "SKIPPED", 0)
    assert out.status("clusters").ok and out.status("tokens").ok
    assert len(out.workspace.clusters) == 1


def test_empty_workspace() -> None:
    """A workspace with nothing in it (and a 404 host-metadata probe) reads cleanly as empty."""
    out = run("empty_workspace.yaml")
    assert [s.family for s in out.statuses] == FAMILIES and all(s.ok for s in out.statuses)
    ws = out.workspace
    assert (ws.clusters, ws.jobs, ws.runs, ws.repos, ws.experiments, ws.tokens, ws.secrets) == ((),) * 7
    assert out.status("runs").calls == 0


def test_missing_optional_fields_and_unknown_enum_values() -> None:
    """Bare objects and enum values the SDK does not know are read without error (unknown values as None)."""
    out = run("sparse_fields.yaml")
    assert all(s.ok for s in out.statuses)
    clusters = by_id(out.workspace.clusters, "cluster_id")
    assert not any(c.is_pinned for c in clusters.values())  # the pinned filter was refused with 400
    assert set(clusters) == {"bare", "odd"}  # an entry without an id is skipped
    bare = clusters["bare"]
    assert (bare.name, bare.source, bare.state, bare.autotermination_minutes) == ("bare", None, None, None)
    assert bare.size.availability is None and bare.size.num_workers is None
    odd = clusters["odd"]
    assert (odd.source, odd.state, odd.size.availability) == (None, None, None)
    jobs = by_id(out.workspace.jobs, "job_id")
    assert set(jobs) == {1, 2}
    assert (jobs[1].name, jobs[1].tasks, jobs[1].scheduled, jobs[1].created_at) == ("job 1", (), False, None)
    tasks = by_id(jobs[2].tasks, "task_key")
    assert (tasks["a"].kind, tasks["a"].compute, tasks["a"].source) == ("notebook", "serverless", None)
    assert (tasks["b"].kind, tasks["b"].compute) == ("spark_jar", "new_cluster")
    assert (tasks["c"].kind, tasks["c"].compute) == ("other", "none")
    assert jobs[2].scheduled  # an unknown pause status is not PAUSED
    assert not jobs[2].bundle_managed
    assert [c.key for c in jobs[2].job_clusters] == ["task:b"]  # a serverless job cluster has no VM
    assert jobs[2].git_url == "https://example.com/repo.git"
    assert [r.repo_id for r in out.workspace.repos] == [5]
    (exp,) = out.workspace.experiments
    assert (exp.name, exp.last_update_at, exp.latest_run_at) == ("9", None, None)
    assert exp.runs_checked_since is not None  # a run without experiment id or times is ignored
    (tok,) = out.workspace.tokens
    assert (tok.token_id, tok.expires_at, tok.created_by) == ("t", None, None)
    assert out.workspace.secrets == ()


# --- end to end and helpers ----------------------------------------------------------------------


def test_collect_end_to_end_for_one_explicit_workspace() -> None:
    """audit.collect() with a config naming one workspace (no azure section) reads it into the snapshot."""
    config = make_config()
    ctx = AuditContext(config, databricks_overrides={"clock": FakeClock()})
    listener = RecordingListener()
    with replaying(CASSETTES / "tokens_forbidden.yaml") as cass:
        snap = collect(ctx, AuditOptions(), progress=listener)
        assert cass.all_played
    (ws,) = snap.databricks
    assert ws.resource_id == SCOPE and ws.name == "test-ws"
    assert [s.family for s in snap.scopes] == FAMILIES
    assert [s.family for s in snap.failed_scopes] == ["tokens"]
    assert not snap.is_complete(SCOPE, ["tokens"]) and snap.is_complete(SCOPE, ["clusters", "jobs", "runs"])
    assert listener.events[0] == ("started", SCOPE, "test-ws")
    assert listener.events[-1] == ("finished", SCOPE, False)


def test_unusable_auth_settings_fail_the_whole_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the SDK cannot build a client from the auth settings, the workspace is one failed `*` scope."""
    cfg_file = tmp_path / "databrickscfg"
    cfg_file.write_text(f"[other]\nhost = https://{HOST}\n", encoding="utf-8")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(cfg_file))
    config = parse_config({"version": 1, "databricks": {"workspaces": [
        {"host": HOST, "auth": {"type": "default", "profile": "missing"}}]}})
    listener = RecordingListener()
    with replaying(CASSETTES / "empty_workspace.yaml"):
        workspace, statuses = collect_workspace(AuditContext(config), configured_targets(config)[0], listener)
    (status,) = statuses
    assert (status.family, status.ok) == ("*", False)
    assert status.error is not None and status.error.startswith("cannot build a Databricks client")
    assert "has no missing profile" in status.error
    assert status.hint is not None and "auth" in status.hint
    assert workspace.resource_id == SCOPE and workspace.clusters == ()
    assert listener.events == [("family", SCOPE, "*", 0, False)]


def test_activity_horizon_follows_exp_002_threshold() -> None:
    """The run-lookup horizon is EXP-002's stale_after_days when configured, else 90 days."""
    assert AuditContext(make_config()).activity_horizon_days == 90
    shorter = make_config(policies={"parameters": {"exp-002": {"stale_after_days": 30}}})
    assert AuditContext(shorter).activity_horizon_days == 30
    assert AuditContext(shorter, activity_horizon_days=7).activity_horizon_days == 7


def test_network_failures_get_a_network_hint() -> None:
    """A connection error, directly or as the cause of the SDK's retry timeout, says to check the network."""
    direct = failure_status(SCOPE, "jobs", requests.ConnectionError("connection refused"), calls=1)
    assert not direct.ok and direct.status is None and direct.calls == 1
    assert direct.hint is not None and "host name" in direct.hint
    try:
        try:
            raise requests.ConnectionError("name resolution failed")
        except requests.ConnectionError as exc:
            raise TimeoutError("Timed out after 0:05:00") from exc
    except TimeoutError as timeout:
        status = failure_status(SCOPE, "clusters", timeout)
    assert status.hint is not None and "could not be reached" in status.hint
    assert status.error is not None and "name resolution failed" in status.error


def test_epoch_milliseconds_conversion() -> None:
    """Epoch ms become aware UTC datetimes; missing, zero and negative values mean no time."""
    assert ms_to_datetime(1_700_000_000_000) == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert ms_to_datetime(None) is None and ms_to_datetime(0) is None and ms_to_datetime(-1) is None
