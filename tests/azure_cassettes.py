"""Writes the Azure cassettes (cassettes/azure/*.yaml) and the demo's (src/mlgov/demo/azure.yaml).

Every response body starts from an official ARM example payload (`x-ms-examples` in
Azure/azure-rest-api-specs, copied under `../shared/reference/api-examples/`): the generator
serves `responses["200"]["body"]`, replaces placeholder values ("string", "nextLink") with
real ones and chains real absolute `nextLink`s to build several pages. Requests carry the
exact api-versions the pinned SDKs send (azure-ai-ml 1.35 uses preview versions).

Secrets and times are placeholders that `mlgov.replay` expands when a cassette is loaded
(`<<jwt:...>>`, `<<pat:...>>`, `<<iso:-200d>>`), so no committed file holds a credential and
dates stay relative to today. GUIDs are patterned fakes.

Run from the repository root after changing it:  .venv/bin/python tests/azure_cassettes.py
(`--check` only says whether the committed files are up to date.)
"""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

ROOT = Path(__file__).resolve().parents[1]
CASSETTE_DIR = ROOT / "cassettes" / "azure"
DEMO_CASSETTE = ROOT / "src" / "mlgov" / "demo" / "azure.yaml"
EXAMPLES = Path(os.environ.get("MLGOV_API_EXAMPLES", ROOT.parent / "shared" / "reference" / "api-examples"))

ARM = "management.azure.com"
API_SUBSCRIPTIONS = "2022-12-01"
API_AML_WORKSPACES = "2025-09-01"
API_DATABRICKS = "2024-05-01"
API_ML_WORKSPACE = "2024-10-01-preview"  # azure-ai-ml 1.35 workspaces.get
API_ML_COMPUTE = "2023-08-01-preview"  # azure-ai-ml 1.35 compute.list
API_ML_JOBS = "2024-01-01-preview"  # azure-ai-ml 1.35 jobs.list
API_ACR = "2025-11-01"
API_AUTHZ = "2022-04-01"

# Patterned fake ids (valid GUID syntax, obviously not real).
SUB_A = "11111111-2222-3333-4444-555555555555"
SUB_B = "22222222-3333-4444-5555-666666666666"
SUB_C = "33333333-4444-5555-6666-777777777777"
SUB_D = "44444444-5555-6666-7777-888888888888"
SUB_X = "55555555-6666-7777-8888-999999999999"
SUB_DEMO_DENIED = "66666666-7777-8888-9999-aaaaaaaaaaaa"
TENANT = "00000000-0000-0000-0000-0000000000aa"

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"  # built-in role ids are public and the same everywhere
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
AML_DATA_SCIENTIST = "f6c7c914-8db3-469d-8ca1-694a8f32e121"
CUSTOM_ROLE = "cccccccc-0000-0000-0000-000000000001"
ROLE_NAMES = {
    OWNER: ("Owner", "BuiltInRole", ["*"]),
    CONTRIBUTOR: ("Contributor", "BuiltInRole", ["*"]),
    READER: ("Reader", "BuiltInRole", ["*/read"]),
    AML_DATA_SCIENTIST: (
        "AzureML Data Scientist",
        "BuiltInRole",
        [
            "Microsoft.MachineLearningServices/workspaces/*/read",
            "Microsoft.MachineLearningServices/workspaces/*/action",
        ],
    ),
    CUSTOM_ROLE: ("ML Job Operator (custom)", "CustomRole", ["Microsoft.MachineLearningServices/workspaces/jobs/*"]),
}
GIB = 1024**3


def principal(n: int) -> str:
    """A patterned fake principal object id."""
    return f"aaaaaaaa-0000-0000-0000-{n:012d}"


# ---------------------------------------------------------------------------------------------
# Placeholders


def iso(offset: str) -> str:
    """An ISO-8601 UTC time `offset` from when the cassette is loaded (e.g. `-200d`)."""
    return f"<<iso:{offset}>>"


def jwt(exp: str, aud: str = "https://management.azure.com", **claims: str) -> str:
    """A fake JWT expiring at `exp`."""
    extra = "".join(f";{k}={v}" for k, v in claims.items())
    return f"<<jwt:exp={exp};aud={aud}{extra}>>"


def pat(seed: str) -> str:
    """A fake Databricks PAT."""
    return f"<<pat:{seed}>>"


# ---------------------------------------------------------------------------------------------
# Official example payloads


def example(relative: str) -> Any:
    """`responses["200"]["body"]` of an official example file (a fresh copy)."""
    path = EXAMPLES / relative
    if not path.is_file():
        sys.exit(f"missing example payload {path}: set MLGOV_API_EXAMPLES to the api-examples folder")
    return copy.deepcopy(json.loads(path.read_text(encoding="utf-8"))["responses"]["200"]["body"])


def aml_ws_id(sub: str, rg: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{name}"


def registry_id(sub: str, rg: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerRegistry/registries/{name}"


def dbx_ws_id(sub: str, rg: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Databricks/workspaces/{name}"


def subscription(sub: str, name: str, state: str = "Enabled") -> dict[str, Any]:
    """A subscription as `GET /subscriptions` lists it (no example file: fields of the 2022-12-01 spec)."""
    return {
        "id": f"/subscriptions/{sub}",
        "subscriptionId": sub,
        "tenantId": TENANT,
        "displayName": name,
        "state": state,
        "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01"},
        "authorizationSource": "RoleBased",
    }


def aml_workspace(
    sub: str,
    rg: str,
    name: str,
    *,
    location: str = "westeurope",
    registry: str | None = None,
    kind: str = "Default",
    tags: dict[str, str] | None = None,
    full: bool = False,
) -> dict[str, Any]:
    """An AML workspace: `Workspace_listBySubscription.json` (list) or `Workspace_get.json` (full)."""
    if full:
        ws = example("machinelearningservices/Workspace_get.json")
    else:
        ws = example("machinelearningservices/Workspace_listBySubscription.json")["value"][0]
    ws_id = aml_ws_id(sub, rg, name)
    ws.update(id=ws_id, name=name, location=location, kind=kind, tags=tags or {})
    if "identity" in ws:
        ws["identity"] = {"type": "SystemAssigned", "principalId": principal(900), "tenantId": TENANT}
    props = ws["properties"]
    base = f"/subscriptions/{sub}/resourceGroups/{rg}/providers"
    props["containerRegistry"] = registry
    props["keyVault"] = f"{base}/Microsoft.KeyVault/vaults/kv-{name}"[:200]
    props["applicationInsights"] = f"{base}/microsoft.insights/components/appi-{name}"
    props["storageAccount"] = f"{base}/Microsoft.Storage/storageAccounts/st{name.replace('-', '')[:20]}"
    props["discoveryUrl"] = f"https://{location}.api.azureml.ms/discovery"
    props["mlFlowTrackingUri"] = f"azureml://{location}.api.azureml.ms/mlflow/v1.0{ws_id}"
    props["friendlyName"] = name
    props["description"] = f"{name} (generated from the official example payload)"
    if full:
        props.pop("encryption", None)
        props.pop("privateEndpointConnections", None)
        props.pop("sharedPrivateLinkResources", None)
        props["publicNetworkAccess"] = "Enabled"
        props["serviceProvisionedResourceGroup"] = f"{name}_managed"
        props["imageBuildCompute"] = None
    return ws


def databricks_workspace(
    sub: str,
    rg: str,
    name: str,
    url: str | None,
    *,
    sku: str = "premium",
    location: str = "westeurope",
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Databricks workspace from `WorkspacesListBySubscription.json`."""
    ws = example("databricks-arm/WorkspacesListBySubscription.json")["value"][0]
    ws.update(id=dbx_ws_id(sub, rg, name), name=name, location=location, tags=tags, sku={"name": sku})
    props = ws["properties"]
    props["managedResourceGroupId"] = f"/subscriptions/{sub}/resourceGroups/databricks-rg-{name}"
    if url is None:
        props.pop("workspaceUrl", None)
        props.pop("workspaceId", None)
        props["provisioningState"] = "Accepted"
    else:
        props["workspaceUrl"] = url
        props["workspaceId"] = url.split("-", 1)[1].split(".", 1)[0]
    props["authorizations"] = [{"principalId": principal(901), "roleDefinitionId": OWNER}]
    props["createdBy"] = props["updatedBy"] = {"oid": principal(902), "puid": "1003200000000000", "applicationId": None}
    props["createdDateTime"] = iso("-400d")
    return ws


def compute_instance(
    ws_id: str,
    name: str,
    *,
    size: str = "Standard_DS3_v2",
    state: str = "Running",
    idle_minutes: int | None = None,
    stop_schedule: str | None = None,
    user: str = "someone@contoso.com",
    owner: int = 10,
    location: str = "westeurope",
) -> dict[str, Any]:
    """A compute instance: `Compute_get_ComputeInstance.json`, with the schedule shape of
    `Compute_createOrUpdate_ComputeInstanceWithSchedules_2024-10-01.json`."""
    ci = example("machinelearningservices/Compute_get_ComputeInstance.json")
    ci.update(id=f"{ws_id}/computes/{name}", name=name, location=location)
    ci["properties"]["createdOn"] = iso("-300d")
    ci["properties"]["modifiedOn"] = iso("-20d")
    ci["properties"]["description"] = None
    props = ci["properties"]["properties"]
    props.update(vmSize=size, state=state)
    props.pop("customServices", None)
    props.pop("subnet", None)
    props["applicationSharingPolicy"] = "Personal"
    props["createdBy"] = {"userName": user, "userOrgId": TENANT, "userId": principal(owner)}
    props["personalComputeInstanceSettings"] = {"assignedUser": {"objectId": principal(owner), "tenantId": TENANT}}
    props["connectivityEndpoints"] = {"publicIpAddress": None, "privateIpAddress": "10.0.0.4"}
    props["applications"] = [
        {"displayName": "Jupyter", "endpointUri": f"https://{name}.{location}.instances.azureml.ms/tree/"}
    ]
    if idle_minutes is not None:
        props["idleTimeBeforeShutdown"] = f"PT{idle_minutes}M"
    if stop_schedule is not None:
        entry = schedule_request_example()
        entry["cron"].update(expression=stop_schedule, startTime="2025-01-06T18:00:00", timeZone="UTC")
        entry.update(id=f"{name}-stop", provisioningStatus="Completed")
        props["schedules"] = {"computeStartStop": [entry]}
    return ci


def schedule_request_example() -> dict[str, Any]:
    """The `computeStartStop` entry of the official create-with-schedules request."""
    path = EXAMPLES / "machinelearningservices/Compute_createOrUpdate_ComputeInstanceWithSchedules_2024-10-01.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    entry: dict[str, Any] = data["parameters"]["parameters"]["properties"]["properties"]["schedules"][
        "computeStartStop"
    ][0]
    return copy.deepcopy(entry)


def aml_cluster(
    ws_id: str,
    name: str,
    *,
    size: str = "Standard_DS3_v2",
    priority: str = "Dedicated",
    min_nodes: int = 0,
    max_nodes: int = 4,
    location: str = "westeurope",
) -> dict[str, Any]:
    """A compute cluster: `Compute_get_AmlCompute_2024-10-01.json`."""
    cl = example("machinelearningservices/Compute_get_AmlCompute_2024-10-01.json")
    cl.update(id=f"{ws_id}/computes/{name}", name=name, location=location)
    cl["properties"]["createdOn"] = iso("-250d")
    cl["properties"]["modifiedOn"] = iso("-10d")
    props = cl["properties"]["properties"]
    props.update(
        vmSize=size, vmPriority=priority, osType="Linux", currentNodeCount=min_nodes, targetNodeCount=min_nodes
    )
    props["scaleSettings"] = {
        "maxNodeCount": max_nodes,
        "minNodeCount": min_nodes,
        "nodeIdleTimeBeforeScaleDown": "PT120S",
    }
    props["allocationState"] = "Steady"
    props["allocationStateTransitionTime"] = iso("-10d")
    props.pop("subnet", None)
    return cl


def aks_compute(ws_id: str, name: str) -> dict[str, Any]:
    """An attached AKS compute: the first entry of `Compute_list.json`."""
    aks = example("machinelearningservices/Compute_list.json")["value"][0]
    aks.update(id=f"{ws_id}/computes/{name}", name=name)
    aks["properties"]["resourceId"] = (
        ws_id.split("/providers/")[0] + f"/providers/Microsoft.ContainerService/managedClusters/{name}"
    )
    aks["properties"]["createdOn"] = aks["properties"]["modifiedOn"] = iso("-500d")
    return aks


def command_job(
    ws_id: str,
    name: str,
    experiment: str,
    *,
    compute: str | None,
    created: str = "-3d",
    status: str = "Completed",
    env: dict[str, str] | None = None,
    git: dict[str, str] | None = None,
    archived: bool | None = None,
    created_by: str = "someone@contoso.com",
) -> dict[str, Any]:
    """A command job from `Job_CommandJob_list_2024-10-01.json`'s entry, its "string"s filled in."""
    job = example("machinelearningservices/Job_CommandJob_list_2024-10-01.json")["value"][0]
    job.update(id=f"{ws_id}/jobs/{name}", name=name, type="Microsoft.MachineLearningServices/workspaces/jobs")
    p = job["properties"]
    p.update(
        description=None,
        tags={},
        properties=dict(git or {}),
        displayName=name,
        status=status,
        experimentName=experiment,
        services=None,
        computeId=f"{ws_id}/computes/{compute}" if compute else None,
        codeId=f"{ws_id}/codes/{name}-code/versions/1",
        command="python train.py --data ${{inputs.training_data}}",
        environmentId=f"{ws_id}/environments/sklearn-1.5/versions/3",
        inputs={},
        outputs={},
        distribution=None,
        limits={"jobLimitsType": "Command", "timeout": "PT2H"},
        environmentVariables=dict(env or {}),
        identity={"identityType": "AMLToken"},
        parameters={},
        resources={"instanceCount": 1, "properties": {}},
    )
    if archived is not None:
        p["isArchived"] = archived
    job["systemData"] = {
        "createdAt": iso(created),
        "createdBy": created_by,
        "createdByType": "User",
        "lastModifiedAt": iso(created),
        "lastModifiedBy": created_by,
        "lastModifiedByType": "User",
    }
    return job


def pipeline_job(
    ws_id: str, name: str, experiment: str, *, created: str = "-2d", git: dict[str, str] | None = None
) -> dict[str, Any]:
    """A pipeline job from `Job_PipelineJob_list.json`'s entry."""
    job = example("machinelearningservices/Job_PipelineJob_list.json")["value"][0]
    job.update(id=f"{ws_id}/jobs/{name}", name=name, type="Microsoft.MachineLearningServices/workspaces/jobs")
    p = job["properties"]
    p.update(
        description=None,
        tags={},
        properties=dict(git or {}),
        displayName=name,
        status="Completed",
        experimentName=experiment,
        services=None,
        computeId=None,
        settings={"default_compute": None},
        inputs={},
        outputs={},
        jobs={},
    )
    job["systemData"] = {
        "createdAt": iso(created),
        "createdBy": "pipelines@contoso.com",
        "createdByType": "User",
        "lastModifiedAt": iso(created),
        "lastModifiedBy": "pipelines@contoso.com",
        "lastModifiedByType": "User",
    }
    return job


def git_v2(repo: str, commit: str, dirty: bool = False) -> dict[str, str]:
    """Git properties as azure-ai-ml v2 writes them."""
    return {
        "mlflow.source.git.repoURL": repo,
        "mlflow.source.git.branch": "main",
        "mlflow.source.git.commit": commit,
        "azureml.git.dirty": str(dirty),
    }


def git_v1(repo: str, commit: str) -> dict[str, str]:
    """Git properties as the legacy v1 SDK (azureml-core) wrote them."""
    return {"azureml.git.repository_uri": repo, "azureml.git.branch": "main", "azureml.git.commit": commit}


def registry(sub: str, rg: str, name: str, sku: str, *, location: str = "westeurope") -> dict[str, Any]:
    """A registry from `RegistryGet.json`."""
    reg = example("containerregistry/RegistryGet.json")
    reg.update(id=registry_id(sub, rg, name), name=name, location=location, tags={}, sku={"name": sku, "tier": sku})
    reg["properties"]["loginServer"] = f"{name}.azurecr.io"
    reg["properties"]["creationDate"] = iso("-700d")
    return reg


def usages(size_bytes: int, limit_bytes: int) -> dict[str, Any]:
    """`listUsages` from `RegistryListUsages.json` with the given Size."""
    body = example("containerregistry/RegistryListUsages.json")
    for usage in body["value"]:
        if usage["name"] == "Size":
            usage.update(currentValue=size_bytes, limit=limit_bytes)
    return body


def role_assignment(
    scope: str, n: int, role: str, principal_id: str, principal_type: str = "User", sub_of_role: str | None = None
) -> dict[str, Any]:
    """A role assignment from `RoleAssignments_ListForScope.json`."""
    ra = example("authorization/RoleAssignments_ListForScope.json")["value"][0]
    name = f"bbbbbbbb-0000-0000-0000-{n:012d}"
    if sub_of_role is not None:
        role_sub = sub_of_role or None  # "" means a tenant-level definition id (management groups)
    else:
        role_sub = scope.split("/")[2] if scope.startswith("/subscriptions/") else None
    role_id = (
        f"/subscriptions/{role_sub}/providers/Microsoft.Authorization/roleDefinitions/{role}"
        if role_sub
        else f"/providers/Microsoft.Authorization/roleDefinitions/{role}"
    )
    ra.update(
        id=f"{scope.rstrip('/')}/providers/Microsoft.Authorization/roleAssignments/{name}",
        name=name,
    )
    ra["properties"].update(
        roleDefinitionId=role_id,
        principalId=principal_id,
        principalType=principal_type,
        scope=scope,
        createdOn=iso("-180d"),
        updatedOn=iso("-180d"),
    )
    return ra


def role_definition(role_id_path: str) -> dict[str, Any]:
    """A role definition from `GetRoleDefinitionById.json`."""
    guid = role_id_path.rsplit("/", 1)[-1]
    name, kind, actions = ROLE_NAMES[guid]
    rd = example("authorization/GetRoleDefinitionById.json")
    rd.update(id=role_id_path, name=guid)
    rd["properties"].update(
        roleName=name,
        type=kind,
        description=f"{name} (generated from the official example payload)",
        assignableScopes=["/"],
        permissions=[{"actions": actions, "notActions": [], "dataActions": [], "notDataActions": []}],
    )
    return rd


def arm_error(code: str, message: str) -> dict[str, Any]:
    """The ARM error envelope."""
    return {"error": {"code": code, "message": message}}


# ---------------------------------------------------------------------------------------------
# Cassettes


REASONS = {
    200: "OK",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    503: "Service Unavailable",
}


@dataclass
class Cassette:
    """The interactions of one cassette file."""

    host: str = ARM
    interactions: list[dict[str, Any]] = field(default_factory=list)

    def url(self, path: str, query: str) -> str:
        return f"https://{self.host}{path}?{query}"

    def get(
        self, path: str, query: str, body: Any, *, status: int = 200, headers: dict[str, str] | None = None
    ) -> Cassette:
        """Append one GET and its response."""
        resp_headers = {"Content-Type": ["application/json; charset=utf-8"]}
        for k, v in (headers or {}).items():
            resp_headers[k] = [v]
        self.interactions.append(
            {
                "request": {"method": "GET", "uri": self.url(path, query), "body": None, "headers": {}},
                "response": {
                    "status": {"code": status, "message": REASONS.get(status, "")},
                    "headers": resp_headers,
                    "body": {"string": json.dumps(body, separators=(",", ":"))},
                },
            }
        )
        return self

    def pages(self, path: str, query: str, pages: list[list[dict[str, Any]]], *, token: str = "$skipToken") -> Cassette:
        """An ARM list over several pages, chained by real absolute `nextLink`s."""
        for i, items in enumerate(pages):
            page_query = query if i == 0 else f"{query}&{quote(token)}=page{i + 1}"
            body: dict[str, Any] = {"value": items}
            if i + 1 < len(pages):
                body["nextLink"] = self.url(path, f"{query}&{quote(token)}=page{i + 2}")
            self.get(path, page_query, body)
        return self

    def error(
        self, path: str, query: str, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> Cassette:
        return self.get(path, query, arm_error(code, message), status=status, headers=headers)

    # --- the calls mlgov makes ------------------------------------------------------------

    def subscriptions(self, *pages: list[dict[str, Any]]) -> Cassette:
        return self.pages("/subscriptions", f"api-version={API_SUBSCRIPTIONS}", list(pages))

    def aml_list(self, sub: str, *pages: list[dict[str, Any]]) -> Cassette:
        path = f"/subscriptions/{sub}/providers/Microsoft.MachineLearningServices/workspaces"
        return self.pages(path, f"api-version={API_AML_WORKSPACES}", list(pages))

    def dbx_list(self, sub: str, *pages: list[dict[str, Any]]) -> Cassette:
        path = f"/subscriptions/{sub}/providers/Microsoft.Databricks/workspaces"
        return self.pages(path, f"api-version={API_DATABRICKS}", list(pages))

    def sub_denied(self, sub: str, *, status: int = 403) -> Cassette:
        """Both provider listings of a subscription the audit identity cannot read."""
        for provider, api in (
            ("Microsoft.MachineLearningServices/workspaces", API_AML_WORKSPACES),
            ("Microsoft.Databricks/workspaces", API_DATABRICKS),
        ):
            self.error(
                f"/subscriptions/{sub}/providers/{provider}",
                f"api-version={api}",
                status,
                "AuthorizationFailed",
                "The client 'audit@contoso.com' with object id 'aaaaaaaa-0000-0000-0000-000000000999' does not have "
                f"authorization to perform action '{provider.split('/')[0]}/workspaces/read' over scope "
                f"'/subscriptions/{sub}' or the scope is invalid.",
            )
        return self

    def ml_workspace(self, ws: dict[str, Any]) -> Cassette:
        return self.get(ws["id"], f"api-version={API_ML_WORKSPACE}", ws)

    def ml_computes(self, ws_id: str, *pages: list[dict[str, Any]]) -> Cassette:
        return self.pages(f"{ws_id}/computes", f"api-version={API_ML_COMPUTE}", list(pages))

    def ml_jobs(self, ws_id: str, *pages: list[dict[str, Any]]) -> Cassette:
        return self.pages(f"{ws_id}/jobs", f"api-version={API_ML_JOBS}&listViewType=All", list(pages))

    def acr(self, reg: dict[str, Any], usage: dict[str, Any] | None) -> Cassette:
        self.get(reg["id"], f"api-version={API_ACR}", reg)
        if usage is not None:
            self.get(f"{reg['id']}/listUsages", f"api-version={API_ACR}", usage)
        return self

    def role_assignments(self, scope: str, *pages: list[dict[str, Any]]) -> Cassette:
        path = f"{scope}/providers/Microsoft.Authorization/roleAssignments"
        return self.pages(path, f"api-version={API_AUTHZ}", list(pages))

    def role_definitions(self, assignments: Iterable[dict[str, Any]]) -> Cassette:
        """One GET per distinct role definition GUID (mlgov resolves each once)."""
        seen: set[str] = set()
        for ra in assignments:
            role_id = ra["properties"]["roleDefinitionId"]
            guid = role_id.rsplit("/", 1)[-1]
            if guid in seen:
                continue
            seen.add(guid)
            self.get(role_id, f"api-version={API_AUTHZ}", role_definition(role_id))
        return self

    def render(self) -> str:
        text = yaml.safe_dump({"interactions": self.interactions, "version": 1}, sort_keys=False, width=1_000_000)
        return (
            "# Generated by tests/azure_cassettes.py from the official ARM example payloads: edit that file.\n" + text
        )


# ---------------------------------------------------------------------------------------------
# Scenarios

RG_A = "rg-ml"
WS_A1 = aml_ws_id(SUB_A, RG_A, "mlw-alpha")
REG_SHARED = registry_id(SUB_X, "rg-shared-acr", "crshared")


def discovery() -> Cassette:
    """All visible subscriptions: 2 pages of subscriptions, 2 pages of AML workspaces, one
    subscription denied, one disabled, one without the Databricks provider registered."""
    c = Cassette()
    c.subscriptions(
        [subscription(SUB_A, "ml-prod"), subscription(SUB_B, "finance-locked")],
        [subscription(SUB_C, "old-disabled", state="Disabled"), subscription(SUB_D, "sandbox")],
    )
    c.aml_list(
        SUB_A,
        [
            aml_workspace(SUB_A, RG_A, "mlw-alpha", registry=REG_SHARED, tags={"env": "prod", "team": "forecast"}),
            aml_workspace(SUB_A, RG_A, "mlw-beta", registry=registry_id(SUB_A, RG_A, "crbeta"), tags={"env": "dev"}),
        ],
        [
            aml_workspace(SUB_A, "rg-other", "mlw-gamma", registry=None, location="northeurope"),
            aml_workspace(
                SUB_A, "rg-foundry", "hub-foundry", kind="Hub", registry=registry_id(SUB_A, "rg-foundry", "crhub")
            ),
            aml_workspace(SUB_A, "rg-foundry", "proj-chat", kind="Project"),
        ],
    )
    c.dbx_list(
        SUB_A,
        [
            databricks_workspace(
                SUB_A, "rg-dbx", "dbw-analytics", "adb-5555555555555555.19.azuredatabricks.net", tags={"env": "prod"}
            ),
            databricks_workspace(SUB_A, "rg-dbx", "dbw-new", None, sku="standard"),
        ],
        [
            databricks_workspace(
                SUB_A,
                "rg-dbx",
                "dbw-sandbox",
                "adb-6666666666666666.19.azuredatabricks.net",
                sku="standard",
                location="northeurope",
            )
        ],
    )
    c.sub_denied(SUB_B)
    c.aml_list(SUB_D, [aml_workspace(SUB_D, "rg-sbx", "mlw-sandbox")])
    c.error(
        f"/subscriptions/{SUB_D}/providers/Microsoft.Databricks/workspaces",
        f"api-version={API_DATABRICKS}",
        409,
        "MissingSubscriptionRegistration",
        "The subscription is not registered to use namespace 'Microsoft.Databricks'.",
    )
    return c


def discovery_throttled() -> Cassette:
    """A 429 with Retry-After on the first AML listing, then the answer."""
    c = Cassette()
    path = f"/subscriptions/{SUB_A}/providers/Microsoft.MachineLearningServices/workspaces"
    c.error(
        path,
        f"api-version={API_AML_WORKSPACES}",
        429,
        "TooManyRequests",
        "Number of 'read' requests for subscription exceeded the limit.",
        headers={"Retry-After": "7"},
    )
    c.aml_list(SUB_A, [aml_workspace(SUB_A, RG_A, "mlw-alpha", registry=REG_SHARED)])
    c.dbx_list(SUB_A, [])
    return c


def discovery_partial() -> Cassette:
    """A custom role that may read AML workspaces but not Databricks ones."""
    c = Cassette()
    c.aml_list(SUB_C, [aml_workspace(SUB_C, "rg-c", "mlw-c")])
    c.error(
        f"/subscriptions/{SUB_C}/providers/Microsoft.Databricks/workspaces",
        f"api-version={API_DATABRICKS}",
        403,
        "AuthorizationFailed",
        "The client does not have authorization to perform action 'Microsoft.Databricks/workspaces/read'.",
    )
    return c


def tenant_denied() -> Cassette:
    c = Cassette()
    c.error(
        "/subscriptions",
        f"api-version={API_SUBSCRIPTIONS}",
        401,
        "InvalidAuthenticationToken",
        "The access token is invalid.",
    )
    return c


def aml_jobs_and_computes(ws_id: str) -> tuple[list[list[dict[str, Any]]], list[list[dict[str, Any]]]]:
    """Computes (2 pages) and jobs (3 pages) of the test workspace."""
    computes = [
        [
            compute_instance(ws_id, "ci-alice", idle_minutes=60, user="alice@contoso.com", owner=1),
            compute_instance(ws_id, "ci-bob", stop_schedule="0 19 * * 1-5", user="bob@contoso.com", owner=2),
        ],
        [
            compute_instance(ws_id, "ci-carol", state="Stopped", user="carol@contoso.com", owner=3),
            aml_cluster(ws_id, "cpu-cluster", min_nodes=2, max_nodes=6),
            aml_cluster(ws_id, "gpu-spot", size="Standard_NC6s_v3", priority="LowPriority", min_nodes=0),
            aks_compute(ws_id, "aks-inference"),
        ],
    ]
    other_ws = aml_ws_id(SUB_A, RG_A, "mlw-deleted-2022")
    jobs = [
        [
            command_job(
                ws_id,
                "train-001",
                "churn",
                compute="cpu-cluster",
                created="-5d",
                git=git_v2("https://github.com/contoso/churn.git", "a1b2c3d4", dirty=True),
            ),
            command_job(
                ws_id,
                "train-002",
                "churn",
                compute="ci-alice",
                created="-4d",
                env={"MLFLOW_TRACKING_TOKEN": jwt("-30d"), "EPOCHS": "10"},
            ),
        ],
        [
            command_job(
                ws_id,
                "legacy-001",
                "forecast-v1",
                compute="cpu-cluster",
                created="-200d",
                status="Failed",
                git=git_v1("https://dev.azure.com/contoso/ml/_git/forecast", "deadbeef"),
                archived=False,
            ),
            command_job(
                ws_id,
                "archived-001",
                "scratch",
                compute=None,
                created="-90d",
                archived=True,
                env={
                    "MLFLOW_TRACKING_URI": f"azureml://westeurope.api.azureml.ms/mlflow/v1.0{other_ws}",
                    "DATABRICKS_TOKEN": pat("aml-test"),
                },
            ),
        ],
        [pipeline_job(ws_id, "pipeline-001", "churn", created="-1d")],
    ]
    return computes, jobs


def aml_workspace_cassette() -> Cassette:
    """One AML workspace read through azure-ai-ml: workspace, computes (2 pages), jobs (3 pages)."""
    c = Cassette()
    c.ml_workspace(aml_workspace(SUB_A, RG_A, "mlw-alpha", registry=REG_SHARED, full=True))
    computes, jobs = aml_jobs_and_computes(WS_A1)
    c.ml_computes(WS_A1, *computes)
    c.ml_jobs(WS_A1, *jobs)
    return c


def aml_partial_cassette() -> Cassette:
    """Workspace and computes readable, jobs forbidden; then a throttled workspace."""
    c = Cassette()
    ws_id = aml_ws_id(SUB_A, RG_A, "mlw-beta")
    c.ml_workspace(aml_workspace(SUB_A, RG_A, "mlw-beta", registry=None, full=True))
    c.ml_computes(ws_id, [])
    c.error(
        f"{ws_id}/jobs",
        f"api-version={API_ML_JOBS}&listViewType=All",
        403,
        "AuthorizationFailed",
        "The client does not have authorization to perform action "
        "'Microsoft.MachineLearningServices/workspaces/jobs/read'.",
    )
    ws3 = aml_ws_id(SUB_A, RG_A, "mlw-busy")
    c.ml_workspace(aml_workspace(SUB_A, RG_A, "mlw-busy", registry=None, full=True))
    c.ml_computes(ws3, [])
    c.error(
        f"{ws3}/jobs",
        f"api-version={API_ML_JOBS}&listViewType=All",
        429,
        "TooManyRequests",
        "Too many requests.",
        headers={"Retry-After": "3"},
    )
    c.ml_jobs(ws3, [command_job(ws3, "quick-001", "smoke", compute=None, created="-1d")])
    return c


def aml_unknown_job_cassette() -> Cassette:
    """A job of a type azure-ai-ml 1.35 cannot turn into an entity (`Labeling`) on page 2 of 3."""
    c = Cassette()
    ws_id = aml_ws_id(SUB_A, RG_A, "mlw-labels")
    c.ml_workspace(aml_workspace(SUB_A, RG_A, "mlw-labels", registry=None, full=True))
    c.ml_computes(ws_id, [])
    labeling = command_job(
        ws_id, "label-project-01", "labeling", compute=None, created="-8d", env={"LABELS_TOKEN": pat("labels")}
    )
    labeling["properties"]["jobType"] = "Labeling"
    c.ml_jobs(
        ws_id,
        [command_job(ws_id, "first-001", "exp", compute=None, created="-3d")],
        [command_job(ws_id, "second-001", "exp", compute=None, created="-2d"), labeling],
        [command_job(ws_id, "third-001", "exp", compute=None, created="-1d", archived=True)],
    )
    return c


def acr_cassette() -> Cassette:
    """A shared registry in another subscription, a Basic registry over its storage, a deleted
    registry, and one the audit identity may not read."""
    c = Cassette()
    c.acr(registry(SUB_X, "rg-shared-acr", "crshared", "Standard"), usages(93 * GIB, 100 * GIB))
    c.acr(registry(SUB_A, RG_A, "crbeta", "Basic"), usages(14 * GIB, 10 * GIB))
    c.error(
        registry_id(SUB_A, RG_A, "crgone"),
        f"api-version={API_ACR}",
        404,
        "ResourceNotFound",
        "The Resource 'Microsoft.ContainerRegistry/registries/crgone' under resource group 'rg-ml' was not found.",
    )
    c.error(
        registry_id(SUB_A, "rg-locked", "crlocked"),
        f"api-version={API_ACR}",
        403,
        "AuthorizationFailed",
        "The client does not have authorization to perform action 'Microsoft.ContainerRegistry/registries/read'.",
    )
    return c


def rbac_cassette() -> Cassette:
    """Assignments at, above and below an AML workspace (2 pages); a Databricks workspace denied;
    a custom role whose definition cannot be read."""
    c = Cassette()
    ws = WS_A1
    rg_scope = f"/subscriptions/{SUB_A}/resourceGroups/{RG_A}"
    page1 = [
        role_assignment(ws, 1, OWNER, principal(1)),
        role_assignment(rg_scope, 2, OWNER, principal(2)),
        role_assignment(f"/subscriptions/{SUB_A}", 3, OWNER, principal(3)),
        role_assignment(f"/subscriptions/{SUB_A}", 4, READER, principal(50), "Group"),
    ]
    page2 = [
        role_assignment(
            "/providers/Microsoft.Management/managementGroups/mg-contoso",
            5,
            CONTRIBUTOR,
            principal(60),
            "ServicePrincipal",
            sub_of_role="",
        ),
        role_assignment(f"{ws}/computes/ci-alice", 6, OWNER, principal(7)),  # below: not on the workspace
        role_assignment(aml_ws_id(SUB_A, RG_A, "mlw-alphabet"), 7, OWNER, principal(8)),  # a sibling, not a parent
        role_assignment(ws, 8, AML_DATA_SCIENTIST, principal(9)),
    ]
    c.role_assignments(ws, page1, page2)
    # Second workspace in another subscription: Owner again (same GUID, another id) and a custom role.
    ws_x = aml_ws_id(SUB_X, "rg-x", "mlw-x")
    other = [role_assignment(ws_x, 9, OWNER, principal(10)), role_assignment(ws_x, 10, CUSTOM_ROLE, principal(11))]
    c.role_assignments(ws_x, other)
    c.role_definitions(page1 + page2[:1] + page2[3:])  # Owner, Reader, Contributor, Data Scientist
    custom = other[1]["properties"]["roleDefinitionId"]
    c.error(
        custom,
        f"api-version={API_AUTHZ}",
        403,
        "AuthorizationFailed",
        "The client does not have authorization to perform action 'Microsoft.Authorization/roleDefinitions/read'.",
    )
    dbx = dbx_ws_id(SUB_A, "rg-dbx", "dbw-analytics")
    c.error(
        f"{dbx}/providers/Microsoft.Authorization/roleAssignments",
        f"api-version={API_AUTHZ}",
        403,
        "AuthorizationFailed",
        "The client does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/read'.",
    )
    return c


def cloud_cassette(host: str) -> Cassette:
    """A whole small audit (discovery, one AML workspace, its registry, its role assignments)
    on one cloud's ARM host: proves every client goes there."""
    c = Cassette(host=host)
    sub = SUB_A
    ws_id = aml_ws_id(sub, RG_A, "mlw-cloud")
    reg = registry(sub, RG_A, "crcloud", "Premium", location="region1")
    c.subscriptions([subscription(sub, "cloud-sub")])
    c.aml_list(sub, [aml_workspace(sub, RG_A, "mlw-cloud", registry=reg["id"], location="region1")])
    c.dbx_list(sub, [])
    c.ml_workspace(aml_workspace(sub, RG_A, "mlw-cloud", registry=reg["id"], location="region1", full=True))
    c.ml_computes(ws_id, [aml_cluster(ws_id, "cpu", location="region1")])
    c.ml_jobs(
        ws_id, [command_job(ws_id, "job-1", "exp", compute="cpu")], [command_job(ws_id, "job-2", "exp", compute="cpu")]
    )
    c.acr(reg, usages(1 * GIB, 500 * GIB))
    ras = [role_assignment(ws_id, 1, OWNER, principal(1))]
    c.role_assignments(ws_id, ras)
    c.role_definitions(ras)
    return c


E2E_DBX_HOST = "adb-1111111111111111.11.azuredatabricks.net"


def e2e_cassette() -> Cassette:
    """`mlgov.audit.collect()` over one subscription holding an AML workspace and a Databricks
    workspace (whose own API calls are the Databricks engineer's `empty_workspace` cassette)."""
    c = Cassette()
    sub = SUB_A
    ws_id = aml_ws_id(sub, RG_A, "mlw-e2e")
    dbx = databricks_workspace(sub, "rg-dbx", "dbw-e2e", E2E_DBX_HOST)
    reg = registry(SUB_X, "rg-shared-acr", "crshared", "Basic")
    c.aml_list(sub, [aml_workspace(sub, RG_A, "mlw-e2e", registry=reg["id"])])
    c.dbx_list(sub, [dbx])
    c.ml_workspace(aml_workspace(sub, RG_A, "mlw-e2e", registry=reg["id"], full=True))
    c.ml_computes(ws_id, [compute_instance(ws_id, "ci-e2e")])
    c.ml_jobs(
        ws_id, [command_job(ws_id, "job-e2e", "e2e", compute="ci-e2e", env={"MLFLOW_TRACKING_TOKEN": jwt("-2d")})]
    )
    c.acr(reg, usages(12 * GIB, 10 * GIB))
    ras = [role_assignment(ws_id, 1, OWNER, principal(1))]
    c.role_assignments(ws_id, ras)
    dras = [role_assignment(dbx["id"], 2, CONTRIBUTOR, principal(2))]
    c.role_assignments(dbx["id"], dras)
    c.role_definitions(ras + dras)
    # The Databricks workspace's own traffic: the Databricks engineer's empty-workspace cassette
    # (vcrpy replays one directory at a time, so its interactions are copied in here).
    databricks = ROOT / "cassettes" / "databricks" / "empty_workspace.yaml"
    data = yaml.safe_load(databricks.read_text(encoding="utf-8"))
    hosts = {i["request"]["uri"].split("/")[2] for i in data["interactions"]}
    if hosts != {E2E_DBX_HOST}:
        sys.exit(f"{databricks} is not about {E2E_DBX_HOST} any more: update E2E_DBX_HOST")
    c.interactions.extend(data["interactions"])
    return c


# ---------------------------------------------------------------------------------------------
# The demo tenant (src/mlgov/demo/azure.yaml)

DEMO_SUB = SUB_A
DEMO_RG_PROD = "rg-retail-ml-prod"
DEMO_RG_DEV = "rg-retail-ml-dev"
DEMO_DBX_HOSTS = ("adb-5555555555555555.15.azuredatabricks.net", "adb-6666666666666666.16.azuredatabricks.net")


def demo_cassette() -> Cassette:
    """The sample subscription: two AML workspaces, their registries, compute, jobs and owners;
    two Databricks workspaces (read through the Databricks demo cassette); a second
    subscription that answers 403."""
    c = Cassette()
    prod = aml_ws_id(DEMO_SUB, DEMO_RG_PROD, "mlw-retail-forecast-prod")
    dev = aml_ws_id(DEMO_SUB, DEMO_RG_DEV, "mlw-retail-dev")
    legacy = aml_ws_id(DEMO_SUB, DEMO_RG_DEV, "mlw-legacy-2022")  # deleted: in no listing
    reg_prod = registry(DEMO_SUB, DEMO_RG_PROD, "crretailprod", "Standard")
    reg_dev = registry(DEMO_SUB, DEMO_RG_DEV, "crretaildev", "Basic")
    dbx_prod = databricks_workspace(
        DEMO_SUB, "rg-retail-dbx", "contoso-analytics-prod", DEMO_DBX_HOSTS[0], sku="premium"
    )
    dbx_sbx = databricks_workspace(DEMO_SUB, "rg-retail-dbx", "contoso-sandbox", DEMO_DBX_HOSTS[1], sku="standard")

    # Discovery.
    c.aml_list(
        DEMO_SUB,
        [
            aml_workspace(
                DEMO_SUB, DEMO_RG_PROD, "mlw-retail-forecast-prod", registry=reg_prod["id"], tags={"env": "prod"}
            ),
            aml_workspace(DEMO_SUB, DEMO_RG_DEV, "mlw-retail-dev", registry=reg_dev["id"], tags={"env": "dev"}),
        ],
    )
    c.dbx_list(DEMO_SUB, [dbx_prod, dbx_sbx])
    c.sub_denied(SUB_DEMO_DENIED)  # AUD-001

    # mlw-retail-forecast-prod: clusters (CST-003, CST-004), an expired and a valid token (MLF-001/002),
    # a dangling azureml:// URI (MLF-003), a stale experiment (EXP-001), jobs on a compute
    # instance without Git metadata (CMP-002, GIT-002).
    c.ml_workspace(
        aml_workspace(DEMO_SUB, DEMO_RG_PROD, "mlw-retail-forecast-prod", registry=reg_prod["id"], full=True)
    )
    c.ml_computes(
        prod,
        [
            aml_cluster(
                prod, "cpu-cluster-prod", size="Standard_DS3_v2", priority="Dedicated", min_nodes=2, max_nodes=8
            ),
            aml_cluster(prod, "gpu-spot", size="Standard_NC6s_v3", priority="LowPriority", min_nodes=0, max_nodes=4),
        ],
        [compute_instance(prod, "ci-forecast-maria", idle_minutes=60, user="maria.garcia@contoso.com", owner=21)],
    )
    git_prod = git_v2(
        "https://github.com/contoso-retail/demand-forecast.git", "4f1c2e9a7b3d5f6e8a9b0c1d2e3f4a5b6c7d8e9f"
    )
    c.ml_jobs(
        prod,
        [
            command_job(
                prod,
                "forecast-train-0412",
                "demand-forecast",
                compute="cpu-cluster-prod",
                created="-2d",
                git=git_prod,
                created_by="pipeline@contoso.com",
            ),
            command_job(
                prod,
                "forecast-train-0411",
                "demand-forecast",
                compute="cpu-cluster-prod",
                created="-9d",
                git=git_prod,
                env={"MLFLOW_TRACKING_TOKEN": jwt("-30d", tid=TENANT), "TRAIN_EPOCHS": "40"},
                created_by="maria.garcia@contoso.com",
            ),
            command_job(
                prod,
                "price-elasticity-07",
                "price-elasticity",
                compute="ci-forecast-maria",
                created="-6d",
                env={"AZUREML_ARM_TOKEN": jwt("+30d", tid=TENANT)},
                created_by="maria.garcia@contoso.com",
            ),
        ],
        [
            command_job(
                prod,
                "price-elasticity-08",
                "price-elasticity",
                compute="ci-forecast-maria",
                created="-3d",
                env={"MLFLOW_TRACKING_URI": f"azureml://westeurope.api.azureml.ms/mlflow/v1.0{legacy}"},
                created_by="maria.garcia@contoso.com",
            ),
            command_job(
                prod,
                "promo-uplift-2024-01",
                "promo-uplift-2024",
                compute="cpu-cluster-prod",
                created="-200d",
                git=git_v1("https://dev.azure.com/contoso/retail/_git/promo", "0a1b2c3d"),
                created_by="tom.lee@contoso.com",
            ),
            command_job(
                prod,
                "promo-uplift-2024-02",
                "promo-uplift-2024",
                compute="cpu-cluster-prod",
                created="-230d",
                status="Failed",
                created_by="tom.lee@contoso.com",
            ),
        ],
    )

    # mlw-retail-dev: compute instances (CST-002 fires on one, not on the one with a stop schedule).
    c.ml_workspace(aml_workspace(DEMO_SUB, DEMO_RG_DEV, "mlw-retail-dev", registry=reg_dev["id"], full=True))
    c.ml_computes(
        dev,
        [
            compute_instance(dev, "ci-dev-tom", user="tom.lee@contoso.com", owner=22),
            compute_instance(
                dev, "ci-dev-ana", stop_schedule="0 19 * * 1-5", state="Stopped", user="ana.silva@contoso.com", owner=23
            ),
        ],
    )
    c.ml_jobs(
        dev,
        [
            command_job(
                dev,
                "explore-basket-01",
                "basket-analysis",
                compute="ci-dev-tom",
                created="-12d",
                created_by="tom.lee@contoso.com",
            ),
            command_job(
                dev,
                "scratch-test",
                "scratch",
                compute="ci-dev-tom",
                created="-120d",
                archived=True,
                created_by="tom.lee@contoso.com",
            ),
        ],
    )

    # Registries: ACR-002 (Standard, 93 of 100 GiB), ACR-001 (Basic, 14 of 10 GiB).
    c.acr(reg_prod, usages(93 * GIB, 100 * GIB))
    c.acr(reg_dev, usages(14 * GIB, 10 * GIB))

    # Role assignments: five individual Owners of the prod workspace, three inherited (IAM-001).
    sub_scope = f"/subscriptions/{DEMO_SUB}"
    rg_scope = f"{sub_scope}/resourceGroups/{DEMO_RG_PROD}"
    prod_ras = [
        role_assignment(prod, 101, OWNER, principal(21)),
        role_assignment(prod, 102, OWNER, principal(24)),
        role_assignment(rg_scope, 103, OWNER, principal(25)),
        role_assignment(sub_scope, 104, OWNER, principal(26)),
        role_assignment(sub_scope, 105, OWNER, principal(27)),
        role_assignment(sub_scope, 106, READER, principal(40), "Group"),
        role_assignment(prod, 107, AML_DATA_SCIENTIST, principal(41), "Group"),
    ]
    dev_ras = [
        role_assignment(f"{sub_scope}/resourceGroups/{DEMO_RG_DEV}", 108, OWNER, principal(22)),
        role_assignment(sub_scope, 104, OWNER, principal(26)),
        role_assignment(sub_scope, 105, OWNER, principal(27)),
        role_assignment(sub_scope, 106, READER, principal(40), "Group"),
    ]
    c.role_assignments(prod, prod_ras[:4], prod_ras[4:])
    c.role_assignments(dev, dev_ras)
    dbx_ras = [
        role_assignment(sub_scope, 104, OWNER, principal(26)),
        role_assignment(sub_scope, 105, OWNER, principal(27)),
        role_assignment(dbx_prod["id"], 109, CONTRIBUTOR, principal(42), "Group"),
    ]
    c.role_assignments(dbx_prod["id"], dbx_ras)
    c.role_assignments(dbx_sbx["id"], dbx_ras[:2])
    c.role_definitions(prod_ras + dev_ras + dbx_ras)
    return c


# ---------------------------------------------------------------------------------------------


def outputs() -> dict[Path, Cassette]:
    """Every file this script writes."""
    return {
        CASSETTE_DIR / "discovery.yaml": discovery(),
        CASSETTE_DIR / "discovery_throttled.yaml": discovery_throttled(),
        CASSETTE_DIR / "discovery_partial.yaml": discovery_partial(),
        CASSETTE_DIR / "tenant_denied.yaml": tenant_denied(),
        CASSETTE_DIR / "aml_workspace.yaml": aml_workspace_cassette(),
        CASSETTE_DIR / "aml_partial.yaml": aml_partial_cassette(),
        CASSETTE_DIR / "aml_unknown_job.yaml": aml_unknown_job_cassette(),
        CASSETTE_DIR / "acr.yaml": acr_cassette(),
        CASSETTE_DIR / "rbac.yaml": rbac_cassette(),
        CASSETTE_DIR / "cloud_custom.yaml": cloud_cassette("management.region1.stack.contoso.example"),
        CASSETTE_DIR / "cloud_custom_moved.yaml": cloud_cassette("management.region2.stack.contoso.example"),
        CASSETTE_DIR / "cloud_china.yaml": cloud_cassette("management.chinacloudapi.cn"),
        CASSETTE_DIR / "cloud_usgov.yaml": cloud_cassette("management.usgovcloudapi.net"),
        CASSETTE_DIR / "e2e.yaml": e2e_cassette(),
        DEMO_CASSETTE: demo_cassette(),
    }


def main(argv: list[str]) -> int:
    """Write the cassettes, or with `--check` report which ones differ from what would be written."""
    check = "--check" in argv
    stale = []
    for path, cassette in outputs().items():
        text = cassette.render()
        if check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)} ({len(cassette.interactions)} interactions)")
    if stale:
        print("out of date: " + ", ".join(str(p.relative_to(ROOT)) for p in stale))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
