"""Typed, frozen records of what the collectors found: the vocabulary of the snapshot.

SDK objects stop at the collector boundary: each collector converts what an API returned into
these records (`from_api` helpers live next to the collector). Records never hold a secret:
literal values of environment variables, Spark conf and parameters are classified by
`mlgov.tokens` when collected, and only the facts about a token (kind, expiry, audience,
issuer) survive, in a `SecretSighting`.

Identity (DESIGN.md, "Identity of things"):
- ARM resources are their ARM id; AML experiments are `<workspace id>/experiments/<name>`.
- Databricks objects are `databricks://<host>/<kind>/<id>`; the workspace is `databricks://<host>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# ---------------------------------------------------------------------------------------------
# Shared


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenFacts:
    """What can be said about a literal credential without revealing it."""

    kind: str
    """`jwt`, `databricks_pat`, `github_pat`, `credential_in_url`, `named_secret`, `bearer`."""
    expires_at: datetime | None = None
    issued_at: datetime | None = None
    audience: str | None = None
    issuer: str | None = None
    tenant_id: str | None = None
    app_id: str | None = None
    length: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SecretSighting:
    """A literal credential found in configuration that should only hold references."""

    resource_id: str
    resource_name: str
    resource_kind: str
    location: str
    """Where in the object, e.g. `job_clusters[etl].new_cluster.spark_env_vars`."""
    key: str
    """The variable, conf key or parameter name that holds it."""
    token: TokenFacts


@dataclass(frozen=True, slots=True, kw_only=True)
class UriSighting:
    """An `azureml://` MLflow tracking URI found in configuration (for MLF-003)."""

    resource_id: str
    resource_name: str
    resource_kind: str
    location: str
    key: str
    uri: str
    """The URI with any credential stripped."""
    workspace_id: str | None
    """The AML workspace ARM id the URI points at, when it can be parsed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScopeStatus:
    """The outcome of reading one scope (a subscription, a workspace, an API family of it)."""

    scope_id: str
    scope_kind: str
    """`databricks_workspace`, `aml_workspace`, `subscription`, `registry`, `tenant`."""
    family: str
    """The API family read, e.g. `clusters`, `jobs`, `computes`; `*` for the whole scope."""
    ok: bool
    error: str | None = None
    status: int | None = None
    code: str | None = None
    hint: str | None = None
    calls: int = 0


# ---------------------------------------------------------------------------------------------
# Databricks


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterSize:
    """Enough of a cluster spec to price it and to tell spot from on-demand."""

    node_type_id: str | None = None
    driver_node_type_id: str | None = None
    num_workers: int | None = None
    autoscale_min: int | None = None
    autoscale_max: int | None = None
    availability: str | None = None
    """`ON_DEMAND_AZURE`, `SPOT_AZURE`, `SPOT_WITH_FALLBACK_AZURE`, or an unknown value as sent."""
    first_on_demand: int | None = None
    spark_version: str | None = None
    policy_id: str | None = None

    @property
    def workers_for_pricing(self) -> int:
        """Workers assumed when pricing: fixed size, else the autoscale minimum."""
        if self.num_workers is not None:
            return self.num_workers
        return self.autoscale_min or 0


@dataclass(frozen=True, slots=True, kw_only=True)
class DbxCluster:
    """A Databricks cluster from `clusters/list`."""

    resource_id: str
    cluster_id: str
    name: str
    source: str | None
    """`UI`, `API`, `JOB`, `MODELS`, `PIPELINE`, `PIPELINE_MAINTENANCE`, `SQL`, or as sent."""
    state: str | None
    autotermination_minutes: int | None
    size: ClusterSize
    creator: str | None = None
    is_pinned: bool = False

    @property
    def is_all_purpose(self) -> bool:
        """All-purpose (interactive) clusters are those created from the UI or the API."""
        return self.source in (None, "UI", "API")


@dataclass(frozen=True, slots=True, kw_only=True)
class DbxJobCluster:
    """A cluster created for a job run: `settings.job_clusters[]` or a task's `new_cluster`."""

    key: str
    """The `job_cluster_key`, or `task:<task_key>` for a task's own `new_cluster`."""
    size: ClusterSize


@dataclass(frozen=True, slots=True, kw_only=True)
class DbxTask:
    """One task of a job."""

    task_key: str
    kind: str
    """`notebook`, `spark_python`, `python_wheel`, `spark_jar`, `spark_submit`, `sql`, `dbt`,
    `pipeline`, `run_job`, `condition`, `for_each`, or `other`."""
    compute: str
    """`existing_cluster`, `job_cluster`, `new_cluster`, `serverless` or `none`."""
    existing_cluster_id: str | None = None
    job_cluster_key: str | None = None
    path: str | None = None
    """Notebook path or Python file the task runs, when it runs one."""
    source: str | None = None
    """`GIT` or `WORKSPACE` as sent by the API; None when the API left it out."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DbxJob:
    """A Databricks job with its tasks (all of them, even beyond the first 100)."""

    resource_id: str
    job_id: int
    name: str
    creator: str | None
    git_url: str | None
    """`settings.git_source.git_url`; None when the job has no Git source."""
    tasks: tuple[DbxTask, ...]
    job_clusters: tuple[DbxJobCluster, ...]
    scheduled: bool = False
    """True when the job has an unpaused schedule, a file-arrival or a periodic trigger."""
    bundle_managed: bool = False
    """True when `settings.deployment.kind` says a Databricks Asset Bundle deployed it."""
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DbxTaskRun:
    """The part of a run's task that costs money: which cluster, for how long."""

    task_key: str
    cluster_id: str | None
    duration_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DbxJobRun:
    """A completed job run inside the collection window."""

    run_id: int
    job_id: int
    start_time: datetime | None
    duration_ms: int
    tasks: tuple[DbxTaskRun, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DbxRepo:
    """A Git folder (repo) of the workspace."""

    resource_id: str
    repo_id: int
    path: str | None
    url: str | None
    provider: str | None
    branch: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DbxExperiment:
    """An MLflow experiment with the start of its most recent run."""

    resource_id: str
    experiment_id: str
    name: str
    lifecycle_stage: str | None
    created_at: datetime | None
    last_update_at: datetime | None
    latest_run_at: datetime | None
    """Start (or end, if later) of the newest run; None when it has no run (or, when
    `runs_checked_since` is set, no run since then)."""
    runs_checked_since: datetime | None = None
    """When set, runs were looked up only back to this time (in batches, for experiments not
    updated lately): `latest_run_at` None then means "no run since", not "no run at all"."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DbxToken:
    """A personal access token from token management (metadata only, never the value)."""

    resource_id: str
    token_id: str
    created_by: str | None
    comment: str | None
    created_at: datetime | None
    expires_at: datetime | None
    """None means the token never expires."""
    last_used_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DatabricksWorkspace:
    """Everything collected from one Databricks workspace."""

    resource_id: str
    """`databricks://<host>`."""
    host: str
    name: str
    arm_id: str | None = None
    location: str | None = None
    pricing_tier: str | None = None
    """ARM `sku.name` (`premium`, `standard`, `trial`) when discovered through ARM."""
    clusters: tuple[DbxCluster, ...] = ()
    jobs: tuple[DbxJob, ...] = ()
    runs: tuple[DbxJobRun, ...] = ()
    runs_window_days: int = 0
    repos: tuple[DbxRepo, ...] = ()
    experiments: tuple[DbxExperiment, ...] = ()
    tokens: tuple[DbxToken, ...] = ()
    secrets: tuple[SecretSighting, ...] = ()
    mlflow_uris: tuple[UriSighting, ...] = ()


# ---------------------------------------------------------------------------------------------
# Azure Machine Learning, registries, role assignments


@dataclass(frozen=True, slots=True, kw_only=True)
class AmlCompute:
    """An AML compute target (instance, cluster, or another kind kept for joins)."""

    resource_id: str
    name: str
    compute_type: str
    """`ComputeInstance`, `AmlCompute`, or the type as sent (`Kubernetes`, `Databricks`...)."""
    location: str | None = None
    state: str | None = None
    vm_size: str | None = None
    idle_shutdown_minutes: int | None = None
    stop_schedules: int = 0
    """Enabled schedules whose action is Stop."""
    min_nodes: int | None = None
    max_nodes: int | None = None
    vm_priority: str | None = None
    """`Dedicated` or `LowPriority`."""
    created_by: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AmlJob:
    """An AML job (every list view: active and archived)."""

    resource_id: str
    name: str
    experiment: str
    job_type: str | None
    status: str | None
    created_at: datetime | None
    modified_at: datetime | None
    compute_id: str | None
    git_repo_url: str | None = None
    git_commit: str | None = None
    git_dirty: bool | None = None
    archived: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class AmlWorkspace:
    """Everything collected from one AML workspace."""

    resource_id: str
    name: str
    subscription_id: str
    resource_group: str
    location: str | None
    registry_id: str | None
    mlflow_tracking_uri: str | None = None
    discovery_url: str | None = None
    computes: tuple[AmlCompute, ...] = ()
    jobs: tuple[AmlJob, ...] = ()
    secrets: tuple[SecretSighting, ...] = ()
    mlflow_uris: tuple[UriSighting, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainerRegistry:
    """A container registry used by one or more AML workspaces."""

    resource_id: str
    name: str
    exists: bool
    sku: str | None = None
    location: str | None = None
    size_bytes: int | None = None
    included_bytes: int | None = None
    """`listUsages` `Size.limit`: the storage the SKU includes."""
    used_by: tuple[str, ...] = ()
    """AML workspace ids whose `containerRegistry` points here."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleAssignment:
    """A role assignment that applies to a workspace, directly or inherited."""

    assignment_id: str
    applies_to: str
    """The workspace ARM id the assignment applies to."""
    scope: str
    principal_id: str
    principal_type: str | None
    role_definition_id: str
    role_name: str | None
    role_type: str | None = None
    """`BuiltInRole` or `CustomRole`."""
    actions: tuple[str, ...] = ()
    inherited: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class AmlWorkspaceRef:
    """A workspace that exists in the audited subscriptions (for MLF-003 lookups)."""

    resource_id: str
    name: str
    location: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionInfo:
    """A subscription that was in scope for discovery."""

    subscription_id: str
    name: str | None = None
    tenant_id: str | None = None


__all__ = [
    "AmlCompute",
    "AmlJob",
    "AmlWorkspace",
    "AmlWorkspaceRef",
    "ClusterSize",
    "ContainerRegistry",
    "DatabricksWorkspace",
    "DbxCluster",
    "DbxExperiment",
    "DbxJob",
    "DbxJobCluster",
    "DbxJobRun",
    "DbxRepo",
    "DbxTask",
    "DbxTaskRun",
    "DbxToken",
    "RoleAssignment",
    "ScopeStatus",
    "SecretSighting",
    "SubscriptionInfo",
    "TokenFacts",
    "UriSighting",
]
