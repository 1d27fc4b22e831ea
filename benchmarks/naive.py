"""A naive, sequential collector: the baseline of "how much faster is mlgov".

It reads what an audit needs through the same SDKs and the recipes of
`reference/sdk-notes.md`, written the obvious way: one thread, SDK defaults (page sizes
included), no de-duplication of lookups. Concretely:

- discovery: `GET /subscriptions`, then per subscription `resources.list(filter=...)` for AML
  and Databricks workspaces and `resources.get_by_id` for each workspace (properties);
- AML: per workspace, `MLClient.jobs.list(list_view_type=ALL)` and `MLClient.compute.list()`;
- ACR: per workspace, `registries.get` + `registries.list_usages` of its registry;
- RBAC: per workspace, `role_assignments.list_for_scope` and `role_definitions.get_by_id` for
  every assignment;
- Databricks, per workspace: `clusters.list()`, `jobs.list(expand_tasks=True)`,
  `jobs.list_runs(job_id=..., start_time_from=..., completed_only=True, expand_tasks=True)` for
  each job with a task on an all-purpose cluster, `repos.list()`,
  `experiments.search_experiments()` and, for each experiment not updated within 90 days,
  `search_runs(max_results=1)`, `token_management.list()`.

It keeps nothing but counts: the point is the time and the requests it takes.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from mlgov.context import DATABRICKS_SCOPE

ARM_SUBSCRIPTIONS_API = "2022-12-01"
AML_FILTER = "resourceType eq 'Microsoft.MachineLearningServices/workspaces'"
DBX_FILTER = "resourceType eq 'Microsoft.Databricks/workspaces'"


def collect(
    arm_url: str,
    credential: Any,
    *,
    cloud_name: str = "MlgovBenchNaive",
    window_days: int = 30,
    horizon_days: int = 90,
) -> dict[str, Any]:
    """Read the whole tenant behind `arm_url` sequentially; return object counts and timings."""
    from azure.ai.ml import MLClient
    from azure.ai.ml.constants import ListViewType
    from azure.core.exceptions import HttpResponseError
    from azure.core.rest import HttpRequest
    from azure.mgmt.authorization import AuthorizationManagementClient
    from azure.mgmt.containerregistry import ContainerRegistryManagementClient
    from azure.mgmt.core.tools import parse_resource_id
    from azure.mgmt.resource.resources import ResourceManagementClient
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.core import Config
    from databricks.sdk.credentials_provider import CredentialsStrategy
    from databricks.sdk.service.ml import ViewType

    arm = arm_url.rstrip("/")
    scope = arm + "/.default"
    kw: dict[str, Any] = {"base_url": arm, "credential_scopes": [scope]}
    counts: Counter[str] = Counter()
    phases: dict[str, float] = {}
    t0 = time.perf_counter()

    # --- discovery --------------------------------------------------------------------------
    boot = ResourceManagementClient(credential, "00000000-0000-0000-0000-000000000000", **kw)
    r = boot.send_request(HttpRequest("GET", f"{arm}/subscriptions?api-version={ARM_SUBSCRIPTIONS_API}"))
    r.raise_for_status()
    subs = [s["subscriptionId"] for s in r.json()["value"]]
    aml_ws: list[Any] = []
    dbx_ws: list[Any] = []
    for sub in subs:
        rm = ResourceManagementClient(credential, sub, **kw)
        for res in rm.resources.list(filter=AML_FILTER):
            aml_ws.append(rm.resources.get_by_id(res.id, api_version="2025-09-01"))
        for res in rm.resources.list(filter=DBX_FILTER):
            dbx_ws.append(rm.resources.get_by_id(res.id, api_version="2024-05-01"))
    counts["subscriptions"] = len(subs)
    counts["aml_workspaces"] = len(aml_ws)
    counts["dbx_workspaces"] = len(dbx_ws)
    phases["discovery"] = time.perf_counter() - t0

    # --- AML, ACR, RBAC ---------------------------------------------------------------------
    t1 = time.perf_counter()
    meta = {
        "azure_portal": arm + "/",
        "resource_manager": arm + "/",
        "active_directory": "https://login.bench.invalid/",
        "aml_resource_id": arm + "/",
        "storage_endpoint": "core.windows.net",
        "registry_discovery_endpoint": arm + "/",
    }
    for ws in aml_ws:
        p = parse_resource_id(ws.id)
        ml = MLClient(
            credential,
            p["subscription"],
            p["resource_group"],
            p["name"],
            cloud=cloud_name,
            cloud_metadata=meta,
            enable_telemetry=False,
        )
        for job in ml.jobs.list(list_view_type=ListViewType.ALL):
            if job is not None:
                counts["aml_jobs"] += 1
        counts["aml_computes"] += sum(1 for _ in ml.compute.list())
        reg_id = ws.properties.get("containerRegistry")
        if reg_id:
            rp = parse_resource_id(reg_id)
            acr = ContainerRegistryManagementClient(credential, rp["subscription"], **kw)
            try:
                acr.registries.get(rp["resource_group"], rp["name"])
                acr.registries.list_usages(rp["resource_group"], rp["name"])
                counts["registries"] += 1
            except HttpResponseError:
                counts["registries_missing"] += 1
    phases["aml_acr"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    for ws in [*aml_ws, *dbx_ws]:
        sub = parse_resource_id(ws.id)["subscription"]
        authz = AuthorizationManagementClient(credential, sub, **kw)
        for ra in authz.role_assignments.list_for_scope(ws.id):
            authz.role_definitions.get_by_id(ra.role_definition_id)
            counts["role_assignments"] += 1
    phases["rbac"] = time.perf_counter() - t2

    # --- Databricks -------------------------------------------------------------------------
    t3 = time.perf_counter()

    class Entra(CredentialsStrategy):  # type: ignore[misc]
        def auth_type(self) -> str:
            return "azure-token-credential"

        def __call__(self, cfg: Any) -> Any:
            return lambda: {"Authorization": "Bearer " + credential.get_token(DATABRICKS_SCOPE).token}

    now = datetime.now(UTC)
    since_ms = int((now - timedelta(days=window_days)).timestamp() * 1000)
    horizon_ms = int((now - timedelta(days=horizon_days)).timestamp() * 1000)
    for ws in dbx_ws:
        host = "https://" + ws.properties["workspaceUrl"]
        w = WorkspaceClient(config=Config(host=host, credentials_strategy=Entra()))
        counts["dbx_clusters"] += sum(1 for _ in w.clusters.list())
        jobs = list(w.jobs.list(expand_tasks=True))
        counts["dbx_jobs"] += len(jobs)
        for job in jobs:
            tasks = (job.settings.tasks if job.settings else None) or []
            if any(t.existing_cluster_id for t in tasks):
                for _ in w.jobs.list_runs(
                    job_id=job.job_id, start_time_from=since_ms, completed_only=True, expand_tasks=True
                ):
                    counts["dbx_runs"] += 1
        counts["dbx_repos"] += sum(1 for _ in w.repos.list())
        for e in w.experiments.search_experiments(view_type=ViewType.ACTIVE_ONLY):
            counts["dbx_experiments"] += 1
            if (e.last_update_time or 0) < horizon_ms:
                runs = w.experiments.search_runs(
                    experiment_ids=[e.experiment_id], max_results=1, order_by=["attributes.start_time DESC"]
                )
                next(iter(runs), None)
        counts["dbx_tokens"] += len(list(w.token_management.list()))
    phases["databricks"] = time.perf_counter() - t3
    return {"objects": dict(counts), "phases_s": {k: round(v, 3) for k, v in phases.items()}}
