"""AML collector: one workspace's settings, computes and jobs.

Three API families, read concurrently (one failing does not stop the others) and each
reported as a `ScopeStatus` of the workspace (`scope_kind="aml_workspace"`):

- `workspace`: azure-ai-ml's `ml.workspaces.get` (registry id, MLflow tracking URI, discovery
  URL, region);
- `computes`: azure-ai-ml's `ml.compute.list()` (instances: idle shutdown, enabled stop
  schedules, state; clusters: min/max nodes, VM priority; size of both);
- `jobs`: active and archived jobs in one paged list (experiment, status, times, compute, Git
  properties, environment variables, `isArchived`): the very request azure-ai-ml's
  `ml.jobs.list(list_view_type=ALL)` sends (`GET .../jobs?api-version=2024-01-01-preview&
  listViewType=All`, then each `nextLink`), read as JSON through mlgov's ARM pipeline.

Why not azure-ai-ml's job entities: turning a job into one costs about 0.7 ms of CPU (model
deserialisation, entity building, a token decode to append a tenant id to the studio URL),
35 s for 50,000 jobs, all of it under the GIL, against 0.01 ms for the fields mlgov keeps. The
entities also drop `isArchived`, and azure-ai-ml ends the whole listing at the first job type
it does not know; the JSON has every job.

Experiments are derived from the jobs (`AmlJob.experiment`), not read separately: azure-ai-ml
has no public experiments API, the run-history and MLflow REST surfaces would add a call per
workspace (plus a second data-plane host and token audience) for data the job list already
carries, and EXP-001, GIT-002 and CMP-002 all need that one job list anyway.

Records hold no SDK object and no secret: environment variables go through
`mlgov.tokens.classify`, and only the facts about a credential survive.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from mlgov.context import AuditContext
from mlgov.inventory import AmlCompute, AmlJob, AmlWorkspace, ScopeStatus, SecretSighting, UriSighting
from mlgov.progress import ProgressListener
from mlgov.targets import AmlTarget
from mlgov.tokens import classify, parse_azureml_uri, strip_credentials

SCOPE_KIND = "aml_workspace"
API_JOBS = "2024-01-01-preview"
"""The job list's api-version: the one azure-ai-ml 1.35's `ml.jobs.list` sends."""
GIT_REPO_KEYS = ("mlflow.source.git.repoURL", "azureml.git.repository_uri")
GIT_COMMIT_KEYS = ("mlflow.source.git.commit", "azureml.git.commit")
GIT_DIRTY_KEY = "azureml.git.dirty"
COMPUTE_TYPES = {
    "computeinstance": "ComputeInstance",
    "amlcompute": "AmlCompute",
    "kubernetes": "Kubernetes",
    "virtualmachine": "VirtualMachine",
    "synapsespark": "SynapseSpark",
    "databricks": "Databricks",
    "hdinsight": "HDInsight",
    "aks": "AKS",
}
VM_PRIORITIES = {"low_priority": "LowPriority", "lowpriority": "LowPriority", "dedicated": "Dedicated"}


def collect_workspace(
    ctx: AuditContext, target: AmlTarget, listener: ProgressListener
) -> tuple[AmlWorkspace, list[ScopeStatus]]:
    """Read one AML workspace; failures of a family become failed `ScopeStatus` entries."""
    from mlgov.collectors.azure_common import AZURE_ERRORS, failed_scope

    ws_id = target.resource_id
    statuses: list[ScopeStatus] = []
    try:
        ml = ctx.ml_client(target.subscription_id, target.resource_group, target.name)
    except AZURE_ERRORS as exc:
        statuses.append(failed_scope(exc, scope_id=ws_id, scope_kind=SCOPE_KIND, family="*"))
        listener.family_done(ws_id, "*", 0, False)
        return _empty(target), statuses

    # The three families are read concurrently; requests in flight stay within the `arm` limiter.
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="mlgov-aml-family") as pool:
        ws_future = pool.submit(_read_workspace, ml, target)
        computes_future = pool.submit(_read_computes, ml, ws_id)
        jobs_future = pool.submit(_read_jobs, ctx, ml, target)
        families = [ws_future.result(), computes_future.result(), jobs_future.result()]

    registry_id: str | None = None
    tracking_uri: str | None = None
    discovery_url: str | None = None
    location = target.location
    computes: list[AmlCompute] = []
    jobs: list[AmlJob] = []
    secrets: list[SecretSighting] = []
    uris: list[UriSighting] = []
    for name, outcome in zip(("workspace", "computes", "jobs"), families, strict=True):
        if isinstance(outcome, _Failed):
            statuses.append(
                failed_scope(outcome.error, scope_id=ws_id, scope_kind=SCOPE_KIND, family=name, calls=outcome.calls)
            )
            listener.family_done(ws_id, name, 0, False)
            continue
        if isinstance(outcome, _WorkspaceFacts):
            registry_id, tracking_uri, discovery_url = outcome.registry_id, outcome.tracking_uri, outcome.discovery_url
            location = outcome.location or location
            count, calls = 1, 1
        elif isinstance(outcome, _Computes):
            computes, count, calls = outcome.computes, len(outcome.computes), 1
        else:
            jobs, secrets, uris = outcome.jobs, outcome.secrets, outcome.uris
            count, calls = len(jobs), outcome.calls
        statuses.append(_ok(ws_id, name, calls))
        listener.family_done(ws_id, name, count, True)

    record = AmlWorkspace(
        resource_id=ws_id,
        name=target.name,
        subscription_id=target.subscription_id,
        resource_group=target.resource_group,
        location=location,
        registry_id=registry_id,
        mlflow_tracking_uri=tracking_uri,
        discovery_url=discovery_url,
        computes=tuple(computes),
        jobs=tuple(sorted(jobs, key=lambda j: j.resource_id.lower())),
        secrets=tuple(secrets),
        mlflow_uris=tuple(uris),
    )
    return record, statuses


@dataclass(frozen=True, slots=True)
class _Failed:
    error: BaseException
    calls: int


@dataclass(frozen=True, slots=True)
class _WorkspaceFacts:
    registry_id: str | None
    tracking_uri: str | None
    discovery_url: str | None
    location: str | None


@dataclass(frozen=True, slots=True)
class _Computes:
    computes: list[AmlCompute]


@dataclass(frozen=True, slots=True)
class _Jobs:
    jobs: list[AmlJob]
    secrets: list[SecretSighting]
    uris: list[UriSighting]
    calls: int


def _read_workspace(ml: Any, target: AmlTarget) -> _WorkspaceFacts | _Failed:
    """`ml.workspaces.get`: registry id, MLflow tracking URI, discovery URL, region."""
    from mlgov.collectors.azure_common import AZURE_ERRORS

    try:
        ws = ml.workspaces.get(target.name)
    except AZURE_ERRORS as exc:
        return _Failed(exc, 1)
    return _WorkspaceFacts(
        registry_id=_str(getattr(ws, "container_registry", None)),
        tracking_uri=_str(getattr(ws, "mlflow_tracking_uri", None)),
        discovery_url=_str(getattr(ws, "discovery_url", None)),
        location=_str(getattr(ws, "location", None)),
    )


def _read_computes(ml: Any, ws_id: str) -> _Computes | _Failed:
    """`ml.compute.list()`, every page."""
    from mlgov.collectors.azure_common import AZURE_ERRORS

    try:
        return _Computes([compute_from_entity(c, ws_id) for c in ml.compute.list() if c is not None])
    except AZURE_ERRORS as exc:
        return _Failed(exc, 1)


def _read_jobs(ctx: AuditContext, ml: Any, target: AmlTarget) -> _Jobs | _Failed:
    """Every page of the workspace's job list, each job turned into a record as its page arrives."""
    from mlgov.collectors.azure_common import AZURE_ERRORS, arm_pages

    jobs: list[AmlJob] = []
    secrets: list[SecretSighting] = []
    uris: list[UriSighting] = []
    pages = 0
    url = f"{ctx.cloud.arm_endpoint.rstrip('/')}{target.resource_id}/jobs?api-version={API_JOBS}&listViewType=All"
    try:
        client = ctx.arm_client(target.subscription_id)
        for items in arm_pages(client.send_request, url):
            pages += 1
            for raw in items:
                job, env = job_from_json(raw, target.resource_id)
                jobs.append(job)
                _scan_env(job, env, target.resource_id, secrets, uris)
                props = _dict(raw.get("properties"))
                _scan_git(job, _properties(props.get("properties")), secrets)
    except AZURE_ERRORS as exc:
        return _Failed(exc, pages + 1)
    return _Jobs(jobs, secrets, uris, max(pages, 1))


# ---------------------------------------------------------------------------------------------
# Computes


def compute_from_entity(compute: Any, workspace_id: str) -> AmlCompute:
    """An `AmlCompute` record from an azure-ai-ml compute entity."""
    name = str(getattr(compute, "name", "") or "")
    raw_type = str(_enum_text(getattr(compute, "type", None)) or "")
    # azure-ai-ml models instances, clusters, Kubernetes, VMs and Synapse; other kinds (AKS,
    # HDInsight...) come back as an `UnsupportedCompute` that no longer says what it is.
    unsupported = not raw_type or raw_type.startswith("*")
    compute_type = "Unsupported" if unsupported else COMPUTE_TYPES.get(raw_type.lower(), raw_type)
    resource_id = _str(getattr(compute, "id", None)) or f"{workspace_id}/computes/{name}"
    common: dict[str, Any] = {
        "resource_id": resource_id,
        "name": name,
        "compute_type": compute_type,
        "location": _str(getattr(compute, "location", None)),
        "vm_size": _str(getattr(compute, "size", None)),
    }
    if compute_type == "ComputeInstance":
        return AmlCompute(
            **common,
            state=_enum_text(getattr(compute, "state", None)),
            idle_shutdown_minutes=_int(getattr(compute, "idle_time_before_shutdown_minutes", None)),
            stop_schedules=_enabled_stop_schedules(getattr(compute, "schedules", None)),
            created_by=_assigned_user(compute),
        )
    if compute_type == "AmlCompute":
        tier = _enum_text(getattr(compute, "tier", None))
        return AmlCompute(
            **common,
            min_nodes=_int(getattr(compute, "min_instances", None)),
            max_nodes=_int(getattr(compute, "max_instances", None)),
            vm_priority=VM_PRIORITIES.get((tier or "").lower(), tier),
        )
    return AmlCompute(**common, state=_enum_text(getattr(compute, "state", None)))


def _enabled_stop_schedules(schedules: Any) -> int:
    entries = getattr(schedules, "compute_start_stop", None) or []
    count = 0
    for entry in entries:
        action = (_enum_text(getattr(entry, "action", None)) or "").lower()
        state = (_enum_text(getattr(entry, "state", None)) or "enabled").lower()
        if action == "stop" and state == "enabled":
            count += 1
    return count


def _assigned_user(compute: Any) -> str | None:
    # azure-ai-ml's ComputeInstance does not expose ARM `createdBy`; for a personal instance
    # it does expose the user it is assigned to (an Entra object id), which is who owns it.
    assigned = getattr(compute, "create_on_behalf_of", None)
    return _str(getattr(assigned, "user_object_id", None))


# ---------------------------------------------------------------------------------------------
# Jobs


def job_from_json(raw: Mapping[str, Any], workspace_id: str) -> tuple[AmlJob, dict[str, Any]]:
    """An `AmlJob` record and environment variables from a job's ARM JSON (a sweep job's trial
    environment included)."""
    props = _dict(raw.get("properties"))
    system = _dict(raw.get("systemData"))
    name = _str(raw.get("name")) or ""
    properties = _dict(props.get("properties"))
    env = {**_dict(props.get("environmentVariables")), **_dict(_dict(props.get("trial")).get("environmentVariables"))}
    record = AmlJob(
        resource_id=_str(raw.get("id")) or f"{workspace_id}/jobs/{name}",
        name=name,
        experiment=_str(props.get("experimentName")) or "Default",
        job_type=(_str(props.get("jobType")) or "").lower() or None,
        status=_str(props.get("status")),
        created_at=_datetime(system.get("createdAt")),
        modified_at=_datetime(system.get("lastModifiedAt")),
        compute_id=compute_id(_str(props.get("computeId")), workspace_id),
        archived=bool(props.get("isArchived")),
        **_git(properties),
    )
    return record, dict(env)


def compute_id(compute: str | None, workspace_id: str) -> str | None:
    """The compute's ARM id: azure-ai-ml gives a job's compute by name, ARM by id."""
    if not compute:
        return None
    if compute.lower().startswith("/subscriptions/"):
        return compute
    name = compute.removeprefix("azureml:").strip("/")
    return f"{workspace_id}/computes/{name}" if name else None


def _git(properties: Mapping[str, Any]) -> dict[str, Any]:
    repo = next((str(properties[k]) for k in GIT_REPO_KEYS if properties.get(k)), None)
    commit = next((str(properties[k]) for k in GIT_COMMIT_KEYS if properties.get(k)), None)
    dirty_raw = properties.get(GIT_DIRTY_KEY)
    dirty = None if dirty_raw is None else str(dirty_raw).strip().lower() == "true"
    # A repository URL with a PAT in it (https://<token>@host/...) is never kept as is.
    return {"git_repo_url": strip_credentials(repo) if repo else None, "git_commit": commit, "git_dirty": dirty}


def _properties(value: Any) -> dict[str, Any]:
    return {str(k): v for k, v in value.items()} if isinstance(value, Mapping) else {}


def _scan_git(job: AmlJob, properties: Mapping[str, Any], secrets: list[SecretSighting]) -> None:
    # A Git URL recorded with a PAT in it (https://<token>@dev.azure.com/...) is a stored secret.
    for key in GIT_REPO_KEYS:
        facts = classify(key, properties.get(key))
        if facts is not None:
            secrets.append(
                SecretSighting(
                    resource_id=job.resource_id,
                    resource_name=job.name,
                    resource_kind="aml.job",
                    location="properties",
                    key=key,
                    token=facts,
                )
            )


def _scan_env(
    job: AmlJob,
    env: Mapping[str, Any],
    workspace_id: str,
    secrets: list[SecretSighting],
    uris: list[UriSighting],
) -> None:
    for key in sorted(env):
        value = env[key]
        facts = classify(str(key), value)
        if facts is not None:
            secrets.append(
                SecretSighting(
                    resource_id=job.resource_id,
                    resource_name=job.name,
                    resource_kind="aml.job",
                    location="environment_variables",
                    key=str(key),
                    token=facts,
                )
            )
            continue
        if isinstance(value, str) and value.strip().lower().startswith("azureml://"):
            parsed = parse_azureml_uri(value)
            uris.append(
                UriSighting(
                    resource_id=job.resource_id,
                    resource_name=job.name,
                    resource_kind="aml.job",
                    location="environment_variables",
                    key=str(key),
                    uri=strip_credentials(value.strip()),
                    workspace_id=parsed[0] if parsed else None,
                )
            )


# ---------------------------------------------------------------------------------------------
# Helpers


def _empty(target: AmlTarget) -> AmlWorkspace:
    return AmlWorkspace(
        resource_id=target.resource_id,
        name=target.name,
        subscription_id=target.subscription_id,
        resource_group=target.resource_group,
        location=target.location,
        registry_id=None,
    )


def _ok(scope_id: str, family: str, calls: int) -> ScopeStatus:
    return ScopeStatus(scope_id=scope_id, scope_kind=SCOPE_KIND, family=family, ok=True, calls=calls)


def _enum_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Enum):
        return str(value.value)
    return str(value) or None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _datetime(value: Any) -> datetime | None:
    from datetime import UTC

    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


__all__ = ["collect_workspace", "compute_from_entity", "compute_id", "job_from_json"]
