"""Small builders of Databricks inventory records and snapshots for the tests of mlgov.checks.databricks.

Every builder fills the fields a check does not care about with plausible values, so that a test
only states what matters to it. Times are relative to `NOW`, the snapshot and evaluation time.
Credentials are built at run time (`fake_jwt`, `fake_pat`) and classified by `mlgov.tokens`, as
the collectors do; no test file holds a literal token.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import cache

from mlgov.catalogue import Catalogue, load_catalogue
from mlgov.engine import Evaluation, PolicySettings, evaluate
from mlgov.findings import Finding
from mlgov.inventory import (
    AmlCompute,
    AmlJob,
    AmlWorkspace,
    ClusterSize,
    DatabricksWorkspace,
    DbxCluster,
    DbxExperiment,
    DbxJob,
    DbxJobCluster,
    DbxJobRun,
    DbxRepo,
    DbxTask,
    DbxTaskRun,
    DbxToken,
    ScopeStatus,
    SecretSighting,
)
from mlgov.prices import PriceBook, load_prices
from mlgov.snapshot import Snapshot
from mlgov.tokens import classify

DBX_IDS = ("MLF-001", "MLF-002", "EXP-002", "GIT-001", "GIT-003", "CMP-001", "CST-001", "CST-004", "IAM-002")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HOST = "adb-1234567890123456.7.azuredatabricks.net"
WS = f"databricks://{HOST}"
SUB = "11111111-2222-3333-4444-555555555555"
AML_WS = f"/subscriptions/{SUB}/resourceGroups/rg-ml/providers/Microsoft.MachineLearningServices/workspaces/mlw-dev"


def ago(days: float = 0, **more: float) -> datetime:
    """The time `days` (plus hours, minutes...) before NOW."""
    return NOW - timedelta(days=days, **more)


def later(days: float = 0, **more: float) -> datetime:
    """The time `days` (plus hours, minutes...) after NOW."""
    return NOW + timedelta(days=days, **more)


def rid(kind: str, object_id: object, host: str = HOST) -> str:
    """`databricks://<host>/<kind>/<id>`."""
    return f"databricks://{host}/{kind}/{object_id}"


def size(
    node: str | None = "Standard_DS3_v2",
    workers: int | None = 2,
    *,
    driver: str | None = None,
    autoscale: tuple[int, int] | None = None,
    availability: str | None = None,
    first_on_demand: int | None = None,
) -> ClusterSize:
    """A cluster spec: fixed `workers`, or an autoscale (min, max) range when given."""
    return ClusterSize(
        node_type_id=node,
        driver_node_type_id=driver,
        num_workers=None if autoscale else workers,
        autoscale_min=autoscale[0] if autoscale else None,
        autoscale_max=autoscale[1] if autoscale else None,
        availability=availability,
        first_on_demand=first_on_demand,
        spark_version="15.4.x-scala2.12",
    )


def cluster(
    cluster_id: str = "0101-000000-shared",
    name: str = "shared-ds",
    *,
    source: str | None = "UI",
    autotermination: int | None = 0,
    spec: ClusterSize | None = None,
    state: str | None = "RUNNING",
    host: str = HOST,
) -> DbxCluster:
    """A cluster; all-purpose (source UI) unless told otherwise."""
    return DbxCluster(
        resource_id=rid("clusters", cluster_id, host),
        cluster_id=cluster_id,
        name=name,
        source=source,
        state=state,
        autotermination_minutes=autotermination,
        size=spec or size(),
        creator="alice@contoso.com",
    )


def task(
    key: str = "main",
    *,
    kind: str = "notebook",
    compute: str = "job_cluster",
    existing_cluster_id: str | None = None,
    job_cluster_key: str | None = None,
    path: str | None = "/Workspace/Users/alice@contoso.com/etl",
    source: str | None = None,
) -> DbxTask:
    """A job task; on an all-purpose cluster when `existing_cluster_id` is given."""
    if existing_cluster_id is not None:
        compute = "existing_cluster"
    elif compute == "job_cluster" and job_cluster_key is None:
        job_cluster_key = "main"
    return DbxTask(
        task_key=key,
        kind=kind,
        compute=compute,
        existing_cluster_id=existing_cluster_id,
        job_cluster_key=job_cluster_key,
        path=path,
        source=source,
    )


def job_cluster(
    key: str = "main",
    *,
    availability: str | None = None,
    workers: int | None = 2,
    node: str | None = "Standard_DS3_v2",
    first_on_demand: int | None = None,
) -> DbxJobCluster:
    """A job cluster (`settings.job_clusters[]`); on-demand unless `availability` says otherwise."""
    spec = size(node, workers, availability=availability, first_on_demand=first_on_demand)
    return DbxJobCluster(key=key, size=spec)


def job(
    job_id: int = 101,
    name: str = "nightly-etl",
    *,
    tasks: Iterable[DbxTask] = (),
    job_clusters: Iterable[DbxJobCluster] = (),
    git_url: str | None = None,
    bundle_managed: bool = False,
    host: str = HOST,
) -> DbxJob:
    """A scheduled job."""
    return DbxJob(
        resource_id=rid("jobs", job_id, host),
        job_id=job_id,
        name=name,
        creator="alice@contoso.com",
        git_url=git_url,
        tasks=tuple(tasks),
        job_clusters=tuple(job_clusters),
        scheduled=True,
        bundle_managed=bundle_managed,
        created_at=ago(200),
    )


def job_run(
    run_id: int,
    job_id: int = 101,
    *,
    start: datetime | None = None,
    tasks: Iterable[tuple[str, str | None, float]] = (),
    duration_hours: float | None = None,
) -> DbxJobRun:
    """A completed run; `tasks` are (task_key, cluster_id, hours)."""
    task_runs = tuple(DbxTaskRun(task_key=k, cluster_id=c, duration_ms=int(h * 3_600_000)) for k, c, h in tasks)
    total = duration_hours if duration_hours is not None else sum(h for _, _, h in tasks)
    return DbxJobRun(
        run_id=run_id,
        job_id=job_id,
        start_time=start or ago(1),
        duration_ms=int(total * 3_600_000),
        tasks=task_runs,
    )


def repo(repo_id: int = 7, path: str = "/Repos/team/etl", host: str = HOST) -> DbxRepo:
    """A Git folder."""
    return DbxRepo(
        resource_id=rid("repos", repo_id, host),
        repo_id=repo_id,
        path=path,
        url="https://github.com/contoso/etl.git",
        provider="gitHub",
        branch="main",
    )


def experiment(
    experiment_id: str = "4242",
    name: str = "/Users/alice@contoso.com/churn",
    *,
    created: datetime | None = None,
    updated: datetime | None = None,
    latest_run: datetime | None = None,
    lifecycle: str | None = "active",
    host: str = HOST,
    runs_checked_since: datetime | None = None,
) -> DbxExperiment:
    """An MLflow experiment; pass the times that matter."""
    return DbxExperiment(
        resource_id=rid("experiments", experiment_id, host),
        experiment_id=experiment_id,
        name=name,
        lifecycle_stage=lifecycle,
        created_at=created,
        last_update_at=updated,
        latest_run_at=latest_run,
        runs_checked_since=runs_checked_since,
    )


def token(
    token_id: str = "tok-1",
    *,
    created: datetime | None = None,
    expires: datetime | None = None,
    comment: str | None = "ci deploy",
    host: str = HOST,
) -> DbxToken:
    """Personal access token metadata (never a value)."""
    return DbxToken(
        resource_id=rid("tokens", token_id, host),
        token_id=token_id,
        created_by="alice@contoso.com",
        comment=comment,
        created_at=created,
        expires_at=expires,
        last_used_at=ago(2),
    )


def sighting(
    value: str,
    *,
    key: str = "MLFLOW_TRACKING_TOKEN",
    location: str = "spark_env_vars",
    resource_id: str | None = None,
    resource_name: str = "shared-ds",
    resource_kind: str = "databricks.cluster",
) -> SecretSighting:
    """What a collector records for `key=value`: the value is classified, then dropped."""
    facts = classify(key, value)
    if facts is None:
        raise ValueError(f"{key}: the value is not a credential")
    return SecretSighting(
        resource_id=resource_id or rid("clusters", "0101-000000-shared"),
        resource_name=resource_name,
        resource_kind=resource_kind,
        location=location,
        key=key,
        token=facts,
    )


def workspace(
    *,
    host: str = HOST,
    name: str = "dbw-analytics",
    clusters: Iterable[DbxCluster] = (),
    jobs: Iterable[DbxJob] = (),
    runs: Iterable[DbxJobRun] = (),
    runs_window_days: int = 30,
    repos: Iterable[DbxRepo] = (),
    experiments: Iterable[DbxExperiment] = (),
    tokens: Iterable[DbxToken] = (),
    secrets: Iterable[SecretSighting] = (),
    pricing_tier: str | None = "premium",
    location: str | None = "westeurope",
) -> DatabricksWorkspace:
    """A Databricks workspace with the given objects."""
    return DatabricksWorkspace(
        resource_id=f"databricks://{host}",
        host=host,
        name=name,
        location=location,
        pricing_tier=pricing_tier,
        clusters=tuple(clusters),
        jobs=tuple(jobs),
        runs=tuple(runs),
        runs_window_days=runs_window_days,
        repos=tuple(repos),
        experiments=tuple(experiments),
        tokens=tuple(tokens),
        secrets=tuple(secrets),
    )


def aml_compute(
    name: str = "cpu-cluster", *, compute_type: str = "AmlCompute", priority: str | None = "Dedicated"
) -> AmlCompute:
    """An AML compute target of the default AML workspace."""
    return AmlCompute(
        resource_id=f"{AML_WS}/computes/{name}",
        name=name,
        compute_type=compute_type,
        location="westeurope",
        vm_size="Standard_DS3_v2",
        min_nodes=0,
        max_nodes=4,
        vm_priority=priority,
    )


def aml_job(name: str = "train-42") -> AmlJob:
    """An AML command job of the default AML workspace."""
    return AmlJob(
        resource_id=f"{AML_WS}/jobs/{name}",
        name=name,
        experiment="churn",
        job_type="Command",
        status="Completed",
        created_at=ago(3),
        modified_at=ago(3),
        compute_id=f"{AML_WS}/computes/cpu-cluster",
    )


def aml_workspace(
    *,
    computes: Iterable[AmlCompute] = (),
    jobs: Iterable[AmlJob] = (),
    secrets: Iterable[SecretSighting] = (),
) -> AmlWorkspace:
    """The default AML workspace."""
    return AmlWorkspace(
        resource_id=AML_WS,
        name="mlw-dev",
        subscription_id=SUB,
        resource_group="rg-ml",
        location="westeurope",
        registry_id=None,
        computes=tuple(computes),
        jobs=tuple(jobs),
        secrets=tuple(secrets),
    )


def failed(
    scope_id: str = WS,
    family: str = "repos",
    *,
    scope_kind: str = "databricks_workspace",
    status: int | None = 403,
    code: str | None = "PERMISSION_DENIED",
    error: str = "User is not authorized to list repos",
    hint: str | None = "Add the audit identity to the workspace.",
) -> ScopeStatus:
    """A scope family that could not be read."""
    return ScopeStatus(
        scope_id=scope_id,
        scope_kind=scope_kind,
        family=family,
        ok=False,
        error=error,
        status=status,
        code=code,
        hint=hint,
    )


def ok(scope_id: str = WS, family: str = "*", scope_kind: str = "databricks_workspace") -> ScopeStatus:
    """A scope family read successfully."""
    return ScopeStatus(scope_id=scope_id, scope_kind=scope_kind, family=family, ok=True, calls=1)


def snapshot(
    *,
    databricks: Iterable[DatabricksWorkspace] = (),
    aml: Iterable[AmlWorkspace] = (),
    scopes: Iterable[ScopeStatus] = (),
) -> Snapshot:
    """A snapshot taken at NOW."""
    return Snapshot(taken_at=NOW, databricks=tuple(databricks), aml=tuple(aml), scopes=tuple(scopes))


@cache
def catalogue() -> Catalogue:
    """The shipped catalogue (every policy file, each with its registered check)."""
    return load_catalogue()


@cache
def prices() -> PriceBook:
    """The shipped price book (default region eastus)."""
    return load_prices()


def run(
    snap: Snapshot,
    *policy_ids: str,
    parameters: dict[str, dict[str, object]] | None = None,
    now: datetime | None = None,
) -> Evaluation:
    """Evaluate the snapshot through the engine with the given policies (the Databricks ones by default)."""
    settings = PolicySettings(parameters=parameters) if parameters else None
    return evaluate(snap, catalogue(), prices(), settings, only=list(policy_ids or DBX_IDS), now=now)


def findings(
    snap: Snapshot,
    policy_id: str,
    *,
    parameters: dict[str, dict[str, object]] | None = None,
    now: datetime | None = None,
) -> list[Finding]:
    """The findings of one policy on the snapshot."""
    return [f for f in run(snap, policy_id, parameters=parameters, now=now).findings if f.policy_id == policy_id]
