"""Small builders of Azure inventory records and snapshots for the tests of mlgov.checks.azure.

Every builder fills the fields a check does not care about with plausible values, so that a
test only states what matters to it. Times are relative to `NOW`, the evaluation time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from mlgov.catalogue import Catalogue, load_policy_file
from mlgov.catalogue import default_policy_dir as _policy_dir
from mlgov.engine import Evaluation, PolicySettings, evaluate
from mlgov.findings import Finding
from mlgov.inventory import (
    AmlCompute,
    AmlJob,
    AmlWorkspace,
    AmlWorkspaceRef,
    ContainerRegistry,
    DatabricksWorkspace,
    RoleAssignment,
    ScopeStatus,
    UriSighting,
)
from mlgov.prices import PriceBook, load_prices
from mlgov.snapshot import Snapshot
from mlgov.tokens import parse_azureml_uri

AZURE_IDS = ("MLF-003", "EXP-001", "ACR-001", "ACR-002", "GIT-002", "CMP-002", "CST-002", "CST-003", "IAM-001")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SUB = "11111111-2222-3333-4444-555555555555"
OTHER_SUB = "99999999-8888-7777-6666-555555555555"
RG = "rg-ml"
OWNER_DEF = (
    f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
)
CONTRIBUTOR_DEF = (
    f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"
)


def ago(days: float) -> datetime:
    """The time `days` before NOW."""
    return NOW - timedelta(days=days)


def ws_id(name: str = "ws-prod", *, sub: str = SUB, rg: str = RG) -> str:
    """ARM id of an AML workspace."""
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{name}"


def compute_id(ws: str, name: str) -> str:
    """ARM id of a compute of a workspace."""
    return f"{ws}/computes/{name}"


def job(
    name: str,
    experiment: str = "churn",
    *,
    ws: str | None = None,
    days_ago: float | None = 1.0,
    modified_days_ago: float | None = None,
    compute: str | None = None,
    job_type: str | None = "Command",
    git_repo_url: str | None = None,
    git_commit: str | None = None,
    archived: bool = False,
) -> AmlJob:
    """An AML job created `days_ago` days before NOW (None: no creation date)."""
    return AmlJob(
        resource_id=f"{ws or ws_id()}/jobs/{name}",
        name=name,
        experiment=experiment,
        job_type=job_type,
        status="Completed",
        created_at=ago(days_ago) if days_ago is not None else None,
        modified_at=ago(modified_days_ago) if modified_days_ago is not None else None,
        compute_id=compute,
        git_repo_url=git_repo_url,
        git_commit=git_commit,
        archived=archived,
    )


def compute_instance(
    name: str = "ci-alice",
    *,
    ws: str | None = None,
    idle_minutes: int | None = None,
    stop_schedules: int = 0,
    state: str | None = "Running",
    vm_size: str | None = "Standard_DS3_v2",
    location: str | None = "westeurope",
) -> AmlCompute:
    """A compute instance (by default: running, no idle shutdown, no stop schedule)."""
    return AmlCompute(
        resource_id=compute_id(ws or ws_id(), name),
        name=name,
        compute_type="ComputeInstance",
        location=location,
        state=state,
        vm_size=vm_size,
        idle_shutdown_minutes=idle_minutes,
        stop_schedules=stop_schedules,
        created_by="alice@example.com",
    )


def compute_cluster(
    name: str = "cpu-cluster",
    *,
    ws: str | None = None,
    min_nodes: int | None = 0,
    max_nodes: int = 4,
    vm_size: str | None = "Standard_D4s_v3",
    vm_priority: str = "Dedicated",
    location: str | None = "eastus",
) -> AmlCompute:
    """A compute cluster (by default: scales to zero)."""
    return AmlCompute(
        resource_id=compute_id(ws or ws_id(), name),
        name=name,
        compute_type="AmlCompute",
        location=location,
        state="Succeeded",
        vm_size=vm_size,
        min_nodes=min_nodes,
        max_nodes=max_nodes,
        vm_priority=vm_priority,
    )


def aml_workspace(
    name: str = "ws-prod",
    *,
    sub: str = SUB,
    location: str | None = "westeurope",
    jobs: Iterable[AmlJob] = (),
    computes: Iterable[AmlCompute] = (),
    mlflow_uris: Iterable[UriSighting] = (),
    mlflow_tracking_uri: str | None = None,
) -> AmlWorkspace:
    """An audited AML workspace."""
    return AmlWorkspace(
        resource_id=ws_id(name, sub=sub),
        name=name,
        subscription_id=sub,
        resource_group=RG,
        location=location,
        registry_id=None,
        mlflow_tracking_uri=mlflow_tracking_uri,
        computes=tuple(computes),
        jobs=tuple(jobs),
        mlflow_uris=tuple(mlflow_uris),
    )


def azureml_uri(workspace: str, *, sub: str = SUB, host: str = "westeurope.api.azureml.ms") -> str:
    """An AML MLflow tracking URI for a workspace of resource group RG."""
    return (
        f"azureml://{host}/mlflow/v1.0/subscriptions/{sub}/resourceGroups/{RG}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{workspace}"
    )


def uri_sighting(
    uri: str,
    *,
    resource_id: str = "databricks://adb-1.azuredatabricks.net/clusters/0101-abc",
    resource_name: str = "etl-cluster",
    resource_kind: str = "databricks.cluster",
    location: str = "spark_env_vars",
    key: str = "MLFLOW_TRACKING_URI",
) -> UriSighting:
    """A URI found in configuration, with its workspace id parsed as the collectors do."""
    parsed = parse_azureml_uri(uri)
    return UriSighting(
        resource_id=resource_id,
        resource_name=resource_name,
        resource_kind=resource_kind,
        location=location,
        key=key,
        uri=uri,
        workspace_id=parsed[0] if parsed else None,
    )


def databricks_workspace(
    host: str = "adb-1.azuredatabricks.net", *, mlflow_uris: Iterable[UriSighting] = (), arm_id: str | None = None
) -> DatabricksWorkspace:
    """An audited Databricks workspace."""
    return DatabricksWorkspace(
        resource_id=f"databricks://{host}",
        host=host,
        name=host.split(".")[0],
        arm_id=arm_id,
        mlflow_uris=tuple(mlflow_uris),
    )


def known(name: str, *, sub: str = SUB, location: str | None = "westeurope") -> AmlWorkspaceRef:
    """A workspace discovery saw (audited or not)."""
    return AmlWorkspaceRef(resource_id=ws_id(name, sub=sub), name=name, location=location)


def registry(
    name: str = "acrprod",
    *,
    sku: str | None = "Basic",
    size_gib: float | None = 1.0,
    included_gib: float | None = None,
    exists: bool = True,
    location: str | None = "westeurope",
) -> ContainerRegistry:
    """A container registry of `size_gib` GiB; `included_gib` is what listUsages reported as the limit."""
    gib = 1024**3
    return ContainerRegistry(
        resource_id=f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ContainerRegistry/registries/{name}",
        name=name,
        exists=exists,
        sku=sku,
        location=location,
        size_bytes=round(size_gib * gib) if size_gib is not None else None,
        included_bytes=round(included_gib * gib) if included_gib is not None else None,
        used_by=(ws_id(),),
    )


def assignment(
    principal: str,
    *,
    applies_to: str | None = None,
    principal_type: str | None = "User",
    role_definition_id: str = OWNER_DEF,
    role_name: str | None = "Owner",
    inherited: bool = False,
    scope: str | None = None,
) -> RoleAssignment:
    """A role assignment (by default: a direct built-in Owner assignment to a user)."""
    target = applies_to or ws_id()
    where = scope or (f"/subscriptions/{SUB}" if inherited else target)
    return RoleAssignment(
        assignment_id=f"{where}/providers/Microsoft.Authorization/roleAssignments/{principal}-{role_name}",
        applies_to=target,
        scope=where,
        principal_id=principal,
        principal_type=principal_type,
        role_definition_id=role_definition_id,
        role_name=role_name,
        role_type="BuiltInRole" if role_definition_id in (OWNER_DEF, CONTRIBUTOR_DEF) else "CustomRole",
        inherited=inherited,
    )


def failed(scope_id: str, family: str, scope_kind: str = "aml_workspace") -> ScopeStatus:
    """A scope family that could not be read."""
    return ScopeStatus(scope_id=scope_id, scope_kind=scope_kind, family=family, ok=False, error="403 Forbidden")


def snapshot(
    *,
    aml: Iterable[AmlWorkspace] = (),
    databricks: Iterable[DatabricksWorkspace] = (),
    registries: Iterable[ContainerRegistry] = (),
    role_assignments: Iterable[RoleAssignment] = (),
    known_aml_workspaces: Iterable[AmlWorkspaceRef] = (),
    complete_subscriptions: Iterable[str] = (SUB,),
    scopes: Iterable[ScopeStatus] = (),
) -> Snapshot:
    """A snapshot taken at NOW."""
    return Snapshot(
        taken_at=NOW,
        aml=tuple(aml),
        databricks=tuple(databricks),
        registries=tuple(registries),
        role_assignments=tuple(role_assignments),
        known_aml_workspaces=tuple(known_aml_workspaces),
        complete_subscriptions=tuple(complete_subscriptions),
        scopes=tuple(scopes),
    )


def azure_catalogue() -> Catalogue:
    """The shipped policy files of the Azure checks only (independent of other policies' state)."""
    return Catalogue({pid: load_policy_file(_policy_dir() / f"{pid}.yaml") for pid in AZURE_IDS})


_PRICES: list[PriceBook] = []


def prices() -> PriceBook:
    """The shipped price book (default region eastus), loaded once."""
    if not _PRICES:
        _PRICES.append(load_prices())
    return _PRICES[0]


def run(snap: Snapshot, *policy_ids: str, parameters: dict[str, dict[str, object]] | None = None) -> Evaluation:
    """Evaluate the snapshot through the engine with the given Azure policies (all of them by default)."""
    settings = PolicySettings(parameters=parameters) if parameters else None
    return evaluate(snap, azure_catalogue(), prices(), settings, only=list(policy_ids or AZURE_IDS))


def findings(snap: Snapshot, policy_id: str, **kwargs: object) -> list[Finding]:
    """The findings of one policy on the snapshot."""
    params = kwargs.get("parameters")
    result = run(snap, policy_id, parameters=params if isinstance(params, dict) else None)
    return [f for f in result.findings if f.policy_id == policy_id]
