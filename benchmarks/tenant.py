"""A synthetic Azure tenant (AML, ACR, RBAC, Databricks), generated deterministically from a seed.

Only counts and small indexes are held in memory; every object (a job, a run, a cluster...) is
built on demand from `(seed, kind, workspace, index)`, so the emulator can serve a page of
the `full` preset (50k AML jobs, 20k Databricks jobs, 100k runs, 20k experiments...) without
materialising the whole tenant. The same seed and `now_ms` always give the same tenant.

Times are relative to `now_ms` (the tenant's "now"), so that windows such as "runs of the last
30 days" or "no activity for 90 days" mean the same thing to the emulator and to mlgov.

`Tenant.minimum_pages()` says how many list pages a perfect client needs to read everything,
per emulator route: `max(1, ceil(items / largest page the API allows))` per list call.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import random
import uuid
from array import array
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

DAY_MS = 86_400_000
GIB = 1024**3

# --- Routes ---------------------------------------------------------------------------------
# "<family> <METHOD> <template>": the emulator counts every request under one of these, and
# `minimum_pages` uses the same names. Families: arm, databricks, mlflow_search, other.

_AML = "/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{w}"
_DBX = "/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Databricks/workspaces/{w}"
R_SUBS = "arm GET /subscriptions"
R_SUB_GET = "arm GET /subscriptions/{s}"
R_RESOURCES = "arm GET /subscriptions/{s}/resources"
R_RG_RESOURCES = "arm GET /subscriptions/{s}/resourceGroups/{rg}/resources"
R_AML_WS_LIST = "arm GET /subscriptions/{s}/providers/Microsoft.MachineLearningServices/workspaces"
R_AML_WS_LIST_RG = (
    "arm GET /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces"
)
R_AML_WS_GET = "arm GET " + _AML
R_AML_COMPUTES = "arm GET " + _AML + "/computes"
R_AML_COMPUTE_GET = "arm GET " + _AML + "/computes/{c}"
R_AML_JOBS = "arm GET " + _AML + "/jobs"
R_AML_JOB_GET = "arm GET " + _AML + "/jobs/{j}"
R_DBX_WS_LIST = "arm GET /subscriptions/{s}/providers/Microsoft.Databricks/workspaces"
R_DBX_WS_LIST_RG = "arm GET /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Databricks/workspaces"
R_DBX_WS_GET = "arm GET " + _DBX
R_ACR_GET = "arm GET /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.ContainerRegistry/registries/{r}"
R_ACR_USAGES = R_ACR_GET + "/listUsages"
R_RA_LIST = "arm GET {scope}/providers/Microsoft.Authorization/roleAssignments"
R_RD_GET = "arm GET {scope}/providers/Microsoft.Authorization/roleDefinitions/{id}"
R_RD_LIST = "arm GET {scope}/providers/Microsoft.Authorization/roleDefinitions"
R_DISCOVERY = "other GET /discovery"
R_METADATA = "other GET /metadata/endpoints"
R_DBX_CONFIG = "other GET /.well-known/databricks-config"
R_CLUSTERS = "databricks GET /api/2.1/clusters/list"
R_CLUSTER_GET = "databricks GET /api/2.1/clusters/get"
R_JOBS = "databricks GET /api/2.2/jobs/list"
R_JOB_GET = "databricks GET /api/2.2/jobs/get"
R_RUNS = "databricks GET /api/2.2/jobs/runs/list"
R_RUN_GET = "databricks GET /api/2.2/jobs/runs/get"
R_REPOS = "databricks GET /api/2.0/repos"
R_TOKENS = "databricks GET /api/2.0/token-management/tokens"
R_EXP_SEARCH = "mlflow_search POST /api/2.0/mlflow/experiments/search"
R_RUN_SEARCH = "mlflow_search POST /api/2.0/mlflow/runs/search"


# --- Sizes ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Preset:
    """How big the tenant is. Totals are spread over workspaces with a deterministic skew."""

    name: str
    subscriptions: int
    aml_workspaces: int
    aml_jobs: int
    dbx_workspaces: int
    dbx_jobs: int
    dbx_runs: int
    dbx_experiments: int
    dbx_clusters: int
    big_jobs_per_workspace: int = 1
    """Jobs with more than 100 tasks: `jobs/list` flags them `has_more`, `jobs/get` pages them."""
    big_job_tasks: int = 130
    repos_per_workspace: int = 20
    tokens_per_workspace: int = 40
    archived_ratio: float = 0.1
    """Share of AML jobs that are archived (only `listViewType=All|ArchivedOnly` shows them)."""
    old_runs_ratio: float = 0.1
    """Share of job runs older than the 30-day window (a `start_time_from` filter skips them)."""


PRESETS: dict[str, Preset] = {
    "small": Preset(
        name="small",
        subscriptions=3,
        aml_workspaces=3,
        aml_jobs=450,
        dbx_workspaces=2,
        dbx_jobs=300,
        dbx_runs=1_500,
        dbx_experiments=260,
        dbx_clusters=60,
        big_jobs_per_workspace=1,
        repos_per_workspace=5,
        tokens_per_workspace=8,
    ),
    "full": Preset(
        name="full",
        subscriptions=4,
        aml_workspaces=20,
        aml_jobs=50_000,
        dbx_workspaces=5,
        dbx_jobs=20_000,
        dbx_runs=100_000,
        dbx_experiments=20_000,
        dbx_clusters=2_000,
        big_jobs_per_workspace=2,
        repos_per_workspace=25,
        tokens_per_workspace=60,
    ),
}


@dataclass(frozen=True, slots=True)
class PageSizes:
    """The largest (and default) page each API serves; the emulator enforces these."""

    arm: int = 100
    """ARM lists (server-chosen page size; clients cannot ask for more)."""
    dbx_jobs_max: int = 100
    dbx_jobs_default: int = 20
    dbx_runs_max: int = 25
    dbx_runs_default: int = 20
    dbx_clusters_max: int = 100
    dbx_clusters_default: int = 100
    dbx_repos: int = 100
    dbx_job_tasks: int = 100
    """Tasks / job clusters per job in `jobs/list?expand_tasks=true` and per `jobs/get` page."""
    mlflow_experiments_max: int = 3000
    mlflow_experiments_default: int = 1000
    mlflow_runs_max: int = 1000
    mlflow_runs_default: int = 1000
    mlflow_run_search_experiment_ids: int = 100
    """Most experiment ids one `runs/search` accepts (an emulator assumption, documented)."""


# --- Deterministic helpers ------------------------------------------------------------------


def _h(*parts: object) -> int:
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def _u(*parts: object) -> float:
    """A uniform float in [0, 1) from the parts."""
    return _h(*parts) / 2**64


def _rng(*parts: object) -> random.Random:
    return random.Random(_h(*parts))


def _guid(*parts: object) -> str:
    text = "\x1f".join(str(p) for p in parts).encode()
    return str(uuid.UUID(bytes=hashlib.blake2b(text, digest_size=16).digest(), version=4))


def _hex(n: int, *parts: object) -> str:
    text = "\x1f".join(str(p) for p in parts).encode()
    return hashlib.blake2b(text, digest_size=(n + 1) // 2).hexdigest()[:n]


def _split(total: int, weights: list[int]) -> list[int]:
    """`total` split in proportion to `weights`, remainder to the first parts."""
    w = sum(weights)
    parts = [total * x // w for x in weights]
    for i in range(total - sum(parts)):
        parts[i % len(parts)] += 1
    return parts


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def pages(items: int, size: int) -> int:
    """Calls one list needs: an empty list still costs one call."""
    return max(1, math.ceil(items / size))


# --- Records --------------------------------------------------------------------------------

LOCATIONS = ("westeurope", "northeurope", "eastus2", "francecentral")

# Built-in role definition ids are the same in every tenant.
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
AML_DATA_SCIENTIST = "f6c7c914-8db3-469d-8ca1-694a8f32e121"


@dataclass(frozen=True, slots=True)
class RoleDef:
    """A role definition (built-in or custom)."""

    guid: str
    name: str
    type: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RoleAssignmentRec:
    """A role assignment at some scope."""

    guid: str
    scope: str
    principal_id: str
    principal_type: str
    role_guid: str
    role_definition_id: str
    created_ms: int

    @property
    def id(self) -> str:
        """The assignment's ARM id."""
        return f"{self.scope}/providers/Microsoft.Authorization/roleAssignments/{self.guid}"


@dataclass(frozen=True, slots=True)
class Subscription:
    """A subscription of the tenant."""

    index: int
    subscription_id: str
    name: str


@dataclass(frozen=True, slots=True)
class Registry:
    """A container registry (may be referenced by a workspace without existing)."""

    sub: str
    rg: str
    name: str
    exists: bool
    sku: str = "Standard"
    location: str = "westeurope"
    included_bytes: int = 100 * GIB
    size_bytes: int = 0

    @property
    def id(self) -> str:
        """ARM id."""
        return (
            f"/subscriptions/{self.sub}/resourceGroups/{self.rg}"
            f"/providers/Microsoft.ContainerRegistry/registries/{self.name}"
        )


@dataclass(frozen=True, slots=True)
class AmlWs:
    """An AML workspace with its sizes."""

    index: int
    sub: str
    rg: str
    name: str
    location: str
    n_jobs: int
    n_computes: int
    n_experiments: int
    registry_id: str | None
    created_ms: int

    @property
    def id(self) -> str:
        """ARM id."""
        return (
            f"/subscriptions/{self.sub}/resourceGroups/{self.rg}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{self.name}"
        )


@dataclass(slots=True)
class _RunIndex:
    """Runs of one Databricks workspace, newest first: start time, job index, duration."""

    starts: array  # type: ignore[type-arg]
    neg_starts: array  # type: ignore[type-arg]
    jobs: array  # type: ignore[type-arg]
    durations: array  # type: ignore[type-arg]
    by_job: dict[int, array] | None = None  # type: ignore[type-arg]


@dataclass(slots=True)
class _ExperimentIndex:
    """Experiments of one Databricks workspace: times, run counts, latest run (ms, 0 = none)."""

    created: array  # type: ignore[type-arg]
    last_update: array  # type: ignore[type-arg]
    n_runs: array  # type: ignore[type-arg]
    latest_run: array  # type: ignore[type-arg]
    deleted: array  # type: ignore[type-arg]


@dataclass(slots=True)
class DbxWs:
    """A Databricks workspace with its sizes and indexes."""

    index: int
    sub: str
    rg: str
    name: str
    location: str
    workspace_id: int
    n_jobs: int
    n_clusters: int
    n_runs: int
    n_experiments: int
    n_repos: int
    n_tokens: int
    created_ms: int
    host: str = ""
    """`https://host[:port]` the workspace answers on (set by the emulator)."""
    runs: _RunIndex | None = None
    experiments: _ExperimentIndex | None = None
    all_purpose: list[int] = field(default_factory=list)

    @property
    def id(self) -> str:
        """ARM id."""
        return (
            f"/subscriptions/{self.sub}/resourceGroups/{self.rg}/providers/Microsoft.Databricks/workspaces/{self.name}"
        )

    @property
    def big_jobs(self) -> range:
        """Indexes of the jobs with more tasks than one page holds."""
        return range(self.n_jobs - self._big, self.n_jobs)

    _big: int = 0


# --- The tenant -----------------------------------------------------------------------------


class Tenant:
    """The whole synthetic tenant. Cheap to build; objects are generated when asked for."""

    def __init__(
        self,
        preset: str | Preset = "small",
        *,
        seed: int = 1,
        now_ms: int | None = None,
        page_sizes: PageSizes | None = None,
    ) -> None:
        self.preset = PRESETS[preset] if isinstance(preset, str) else preset
        self.seed = seed
        self.now_ms = now_ms if now_ms is not None else (int(datetime.now(UTC).timestamp()) // 60) * 60_000
        self.pages = page_sizes or PageSizes()
        self.tenant_id = _guid(seed, "tenant")
        p = self.preset
        s = seed
        self.subscriptions = [Subscription(i, _guid(s, "sub", i), f"bench-sub-{i + 1}") for i in range(p.subscriptions)]
        subs = [x.subscription_id for x in self.subscriptions]
        now = self.now_ms

        # Container registries: one per pair of AML workspaces, spread over subscriptions.
        n_reg = max(1, math.ceil(p.aml_workspaces / 2))
        skus = (("Basic", 10 * GIB), ("Standard", 100 * GIB), ("Premium", 500 * GIB))
        self.registries: dict[str, Registry] = {}
        reg_ids: list[str] = []
        for r in range(n_reg):
            sku, included = skus[r % 3]
            ratio = (1.3, 0.93, 0.3, 0.5)[r % 4]
            reg = Registry(
                sub=subs[r % len(subs)],
                rg="rg-acr-shared",
                name=f"benchacr{r:02d}{_hex(4, s, 'acr', r)}",
                exists=True,
                sku=sku,
                location=LOCATIONS[r % len(LOCATIONS)],
                included_bytes=included,
                size_bytes=int(included * ratio),
            )
            self.registries[reg.id.lower()] = reg
            reg_ids.append(reg.id)
        missing = Registry(sub=subs[0], rg="rg-acr-shared", name="benchacrdeleted", exists=False)
        self.registries[missing.id.lower()] = missing

        aml_sizes = _split(p.aml_jobs, [1 + (i % 5) for i in range(p.aml_workspaces)])
        self.aml: list[AmlWs] = []
        for i in range(p.aml_workspaces):
            if i == p.aml_workspaces - 1 and p.aml_workspaces > 1:
                reg_id: str | None = None  # created lazily by AML: not there yet
            elif i == 1 and p.aml_workspaces >= 3:
                reg_id = missing.id
            else:
                reg_id = reg_ids[i // 2]
            self.aml.append(
                AmlWs(
                    index=i,
                    sub=subs[i % len(subs)],
                    rg=f"rg-ml-{i % 3}",
                    name=f"aml-ws-{i:02d}",
                    location=LOCATIONS[i % len(LOCATIONS)],
                    n_jobs=aml_sizes[i],
                    n_computes=6 + i % 5,
                    n_experiments=max(3, aml_sizes[i] // 25),
                    registry_id=reg_id,
                    created_ms=now - (400 + i) * DAY_MS,
                )
            )

        weights = [3, 2, 2, 2, 1] * (p.dbx_workspaces // 5 + 1)
        w = weights[: p.dbx_workspaces]
        jobs_n, runs_n = _split(p.dbx_jobs, w), _split(p.dbx_runs, w)
        exps_n, clus_n = _split(p.dbx_experiments, w), _split(p.dbx_clusters, w)
        self.dbx: list[DbxWs] = []
        for i in range(p.dbx_workspaces):
            ws = DbxWs(
                index=i,
                sub=subs[(i + 1) % len(subs)],
                rg=f"rg-dbx-{i % 2}",
                name=f"dbx-ws-{i}",
                location=LOCATIONS[(i + 1) % len(LOCATIONS)],
                workspace_id=1_000_000_000_000_000 + _h(s, "dbxid", i) % 10**15,
                n_jobs=jobs_n[i],
                n_clusters=clus_n[i],
                n_runs=runs_n[i],
                n_experiments=exps_n[i],
                n_repos=0 if i == p.dbx_workspaces - 1 and p.dbx_workspaces > 1 else p.repos_per_workspace,
                n_tokens=p.tokens_per_workspace,
                created_ms=now - (700 + i) * DAY_MS,
                host=f"https://adb-{1_000_000_000_000_000 + _h(s, 'dbxid', i) % 10**15}.{i}.azuredatabricks.net",
            )
            ws._big = min(p.big_jobs_per_workspace, ws.n_jobs)
            ws.all_purpose = [c for c in range(ws.n_clusters) if self.cluster_source(c) != "JOB"]
            self.dbx.append(ws)

        self._build_roles()

    # --- small derived facts ------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The tenant's "now" as a datetime."""
        return datetime.fromtimestamp(self.now_ms / 1000, UTC)

    def set_databricks_hosts(self, hosts: list[str]) -> None:
        """Tell the tenant where each Databricks workspace answers (`https://127.0.0.1:PORT`)."""
        for ws, host in zip(self.dbx, hosts, strict=True):
            ws.host = host.rstrip("/")

    def aml_by_id(self, arm_id: str) -> AmlWs | None:
        """The AML workspace with this ARM id (case-insensitive)."""
        return self._aml_ids.get(arm_id.lower())

    def dbx_by_id(self, arm_id: str) -> DbxWs | None:
        """The Databricks workspace with this ARM id (case-insensitive)."""
        return self._dbx_ids.get(arm_id.lower())

    @cached_property
    def _aml_ids(self) -> dict[str, AmlWs]:
        return {w.id.lower(): w for w in self.aml}

    @cached_property
    def _dbx_ids(self) -> dict[str, DbxWs]:
        return {w.id.lower(): w for w in self.dbx}

    # --- RBAC ---------------------------------------------------------------------------

    def _build_roles(self) -> None:
        s = self.seed
        custom = _guid(s, "role", "custom")
        self.role_defs: dict[str, RoleDef] = {
            OWNER: RoleDef(OWNER, "Owner", "BuiltInRole", ("*",)),
            CONTRIBUTOR: RoleDef(
                CONTRIBUTOR,
                "Contributor",
                "BuiltInRole",
                ("*",),
                ("Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write"),
            ),
            READER: RoleDef(READER, "Reader", "BuiltInRole", ("*/read",)),
            AML_DATA_SCIENTIST: RoleDef(
                AML_DATA_SCIENTIST,
                "AzureML Data Scientist",
                "BuiltInRole",
                ("Microsoft.MachineLearningServices/workspaces/*/read",),
            ),
            custom: RoleDef(
                custom,
                "ML Auditor (custom)",
                "CustomRole",
                ("Microsoft.MachineLearningServices/workspaces/read", "Microsoft.Databricks/workspaces/read"),
            ),
        }
        users = [_guid(s, "user", k) for k in range(300)]
        groups = [_guid(s, "group", k) for k in range(20)]
        sps = [_guid(s, "sp", k) for k in range(10)]
        out: list[RoleAssignmentRec] = []

        def add(scope: str, sub: str, principal: str, ptype: str, role: str, tag: object) -> None:
            out.append(
                RoleAssignmentRec(
                    guid=_guid(s, "ra", scope.lower(), tag),
                    scope=scope,
                    principal_id=principal,
                    principal_type=ptype,
                    role_guid=role,
                    role_definition_id=f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role}",
                    created_ms=self.now_ms - (30 + _h(s, "racreated", scope, tag) % 900) * DAY_MS,
                )
            )

        for sub in self.subscriptions:
            scope = f"/subscriptions/{sub.subscription_id}"
            sid = sub.subscription_id
            add(scope, sid, users[sub.index * 2], "User", OWNER, "o1")
            add(scope, sid, users[sub.index * 2 + 1], "User", OWNER, "o2")
            add(scope, sid, groups[sub.index], "Group", OWNER, "og")
            add(scope, sid, sps[sub.index % len(sps)], "ServicePrincipal", CONTRIBUTOR, "c")
            add(scope, sid, groups[10 + sub.index % 10], "Group", READER, "r")
        rgs = sorted({(w.sub, w.rg) for w in [*self.aml, *self.dbx]})
        for k, (sid, rg) in enumerate(rgs):
            scope = f"/subscriptions/{sid}/resourceGroups/{rg}"
            add(scope, sid, users[50 + k], "User", CONTRIBUTOR, "c")
            if k % 2 == 0:
                add(scope, sid, users[80 + k], "User", OWNER, "o")
        for k, ws_id in enumerate([w.id for w in self.aml] + [w.id for w in self.dbx]):
            sid = ws_id.split("/")[2]
            for j in range(k % 4):
                add(ws_id, sid, users[100 + (k * 7 + j) % 200], "User", OWNER, f"o{j}")
            add(ws_id, sid, groups[(k + 3) % len(groups)], "Group", AML_DATA_SCIENTIST, "ds")
            add(ws_id, sid, users[(k * 13) % 300], "User", custom, "cu")
            add(ws_id, sid, users[(k * 17 + 1) % 300], "User", READER, "r1")
            add(ws_id, sid, users[(k * 19 + 2) % 300], "User", READER, "r2")
        self.role_assignments = out

    def assignments_for_scope(self, scope: str, *, at_scope_only: bool = False) -> list[RoleAssignmentRec]:
        """What `roleAssignments` at this scope lists: at, above (inherited) and, unless
        `atScope()`, below it."""
        key = scope.rstrip("/").lower()
        found = []
        for ra in self.role_assignments:
            rs = ra.scope.lower()
            above = key == rs or key.startswith(rs + "/")
            below = rs.startswith(key + "/")
            if above or (below and not at_scope_only):
                found.append(ra)
        return found

    # --- generic resources --------------------------------------------------------------

    def resources(self, sub: str) -> list[dict[str, Any]]:
        """Everything `GET /subscriptions/{s}/resources` lists (generic shape, no properties)."""
        out: list[dict[str, Any]] = []
        for w in self.aml:
            if w.sub != sub:
                continue
            out.append(
                {
                    "id": w.id,
                    "name": w.name,
                    "type": "Microsoft.MachineLearningServices/workspaces",
                    "location": w.location,
                    "kind": "Default",
                    "sku": {"name": "Basic", "tier": "Basic"},
                    "tags": {"team": f"team-{w.index % 4}"},
                }
            )
            out.append(
                {
                    "id": f"/subscriptions/{sub}/resourceGroups/{w.rg}/providers/"
                    f"Microsoft.KeyVault/vaults/kv{w.index:02d}",
                    "name": f"kv{w.index:02d}",
                    "type": "Microsoft.KeyVault/vaults",
                    "location": w.location,
                }
            )
        for d in self.dbx:
            if d.sub == sub:
                out.append(
                    {
                        "id": d.id,
                        "name": d.name,
                        "type": "Microsoft.Databricks/workspaces",
                        "location": d.location,
                        "sku": {"name": "premium"},
                        "tags": {},
                    }
                )
        for r in self.registries.values():
            if r.exists and r.sub == sub:
                out.append(
                    {
                        "id": r.id,
                        "name": r.name,
                        "type": "Microsoft.ContainerRegistry/registries",
                        "location": r.location,
                        "sku": {"name": r.sku, "tier": r.sku},
                    }
                )
        return out

    # --- AML ----------------------------------------------------------------------------

    def aml_workspace(self, w: AmlWs, arm_base: str) -> dict[str, Any]:
        """The ARM workspace resource (get and list-by-subscription shape)."""
        base = arm_base.rstrip("/")
        tracking = (
            f"azureml://{w.location}.api.azureml.ms/mlflow/v1.0/subscriptions/{w.sub}"
            f"/resourceGroups/{w.rg}/providers/Microsoft.MachineLearningServices/workspaces/{w.name}"
        )
        rgp = f"/subscriptions/{w.sub}/resourceGroups/{w.rg}/providers"
        return {
            "id": w.id,
            "name": w.name,
            "type": "Microsoft.MachineLearningServices/workspaces",
            "location": w.location,
            "kind": "Default",
            "tags": {"team": f"team-{w.index % 4}"},
            "sku": {"name": "Basic", "tier": "Basic"},
            "identity": {
                "type": "SystemAssigned",
                "principalId": _guid(self.seed, "wsmi", w.index),
                "tenantId": self.tenant_id,
            },
            "systemData": {
                "createdAt": _iso(w.created_ms),
                "createdBy": "admin@contoso.example",
                "createdByType": "User",
                "lastModifiedAt": _iso(w.created_ms + DAY_MS),
                "lastModifiedBy": "admin@contoso.example",
                "lastModifiedByType": "User",
            },
            "properties": {
                "friendlyName": w.name,
                "description": "synthetic workspace (mlgov benchmark)",
                "workspaceId": _guid(self.seed, "amlwsid", w.index),
                "containerRegistry": w.registry_id,
                "keyVault": f"{rgp}/Microsoft.KeyVault/vaults/kv{w.index:02d}",
                "applicationInsights": f"{rgp}/microsoft.insights/components/ai{w.index:02d}",
                "storageAccount": f"{rgp}/Microsoft.Storage/storageAccounts/st{w.index:02d}",
                "discoveryUrl": f"{base}/discovery",
                "mlFlowTrackingUri": tracking,
                "hbiWorkspace": False,
                "provisioningState": "Succeeded",
                "publicNetworkAccess": "Enabled",
                "v1LegacyMode": False,
                "storageHnsEnabled": False,
                "privateLinkCount": 0,
                "notebookInfo": {},
                "serviceProvisionedResourceGroup": f"{w.name}_{_hex(16, self.seed, 'sprg', w.index)}",
                "tenantId": self.tenant_id,
            },
        }

    def aml_compute_name(self, w: AmlWs, i: int) -> str:
        """Name of compute `i` of workspace `w` (the first three are compute instances)."""
        return f"ci-{w.index:02d}-{i}" if i < 3 else f"cluster-{w.index:02d}-{i}"

    def aml_compute(self, w: AmlWs, i: int) -> dict[str, Any]:
        """A compute: instances (idle shutdown / stop schedule / neither) and clusters."""
        name = self.aml_compute_name(w, i)
        created = w.created_ms + (i + 1) * DAY_MS
        common = {
            "computeLocation": w.location,
            "provisioningState": "Succeeded",
            "createdOn": _iso(created),
            "modifiedOn": _iso(created + DAY_MS),
            "isAttachedCompute": False,
            "disableLocalAuth": True,
        }
        if i < 3:
            props: dict[str, Any] = {
                "vmSize": "STANDARD_DS3_V2",
                "state": "Running" if i != 2 else "Stopped",
                "applicationSharingPolicy": "Personal",
                "sshSettings": {"sshPublicAccess": "Disabled"},
                "computeInstanceAuthorizationType": "personal",
                "personalComputeInstanceSettings": {
                    "assignedUser": {"objectId": _guid(self.seed, "user", i), "tenantId": self.tenant_id}
                },
            }
            if i == 0:
                props["idleTimeBeforeShutdown"] = "PT60M"
            if i == 2:
                props["schedules"] = {
                    "computeStartStop": [
                        {
                            "action": "Stop",
                            "triggerType": "Cron",
                            "status": "Enabled",
                            "cron": {"expression": "0 19 * * *", "timeZone": "UTC", "startTime": "2024-01-01T00:00:00"},
                        }
                    ]
                }
            return {
                "id": f"{w.id}/computes/{name}",
                "name": name,
                "type": "Microsoft.MachineLearningServices/workspaces/computes",
                "location": w.location,
                "properties": {"computeType": "ComputeInstance", **common, "properties": props},
            }
        low = (w.index + i) % 3 == 0
        min_nodes = 2 if (i == 3 and w.index % 3 == 0) else 0
        return {
            "id": f"{w.id}/computes/{name}",
            "name": name,
            "type": "Microsoft.MachineLearningServices/workspaces/computes",
            "location": w.location,
            "properties": {
                "computeType": "AmlCompute",
                **common,
                "properties": {
                    "vmSize": "STANDARD_NC6S_V3" if i % 2 else "STANDARD_DS3_V2",
                    "vmPriority": "LowPriority" if low else "Dedicated",
                    "osType": "Linux",
                    "scaleSettings": {
                        "minNodeCount": min_nodes,
                        "maxNodeCount": 4 + i,
                        "nodeIdleTimeBeforeScaleDown": "PT120S",
                    },
                    "remoteLoginPortPublicAccess": "Disabled",
                    "allocationState": "Steady",
                    "currentNodeCount": min_nodes,
                    "targetNodeCount": min_nodes,
                    "enableNodePublicIp": False,
                },
            },
        }

    def aml_job_archived(self, w: AmlWs, i: int) -> bool:
        """Whether job `i` is archived (cheap: used to filter list views)."""
        return _u(self.seed, "amlarch", w.index, i) < self.preset.archived_ratio

    def aml_job_positions(self, w: AmlWs, view: str) -> list[int]:
        """Job indexes a list view shows: `ActiveOnly` (the default), `ArchivedOnly`, `All`."""
        key = (w.index, view)
        cache = self._aml_views
        if key not in cache:
            if view == "All":
                cache[key] = list(range(w.n_jobs))
            else:
                want = view == "ArchivedOnly"
                cache[key] = [i for i in range(w.n_jobs) if self.aml_job_archived(w, i) == want]
        return cache[key]

    @cached_property
    def _aml_views(self) -> dict[tuple[int, str], list[int]]:
        return {}

    def aml_job_name(self, w: AmlWs, i: int) -> str:
        """Job name (AML-style random words plus a stable suffix)."""
        adj = ("brave", "calm", "eager", "frosty", "jolly", "lucid", "nifty", "quiet", "sleepy", "witty")
        noun = ("apple", "cloud", "falcon", "garden", "lemon", "orbit", "pepper", "river", "stone", "tiger")
        h = _h(self.seed, "amljobname", w.index, i)
        return f"{adj[h % 10]}_{noun[(h // 10) % 10]}_{_hex(8, self.seed, 'amljob', w.index, i)}"

    def aml_job(self, w: AmlWs, i: int) -> dict[str, Any]:
        """AML job `i` of workspace `w` in the ARM jobs list shape."""
        from mlgov.replay import fake_jwt

        r = _rng(self.seed, "amljob", w.index, i)
        name = self.aml_job_name(w, i)
        exp = f"exp-{int(w.n_experiments * r.random() ** 1.5):04d}"
        created = self.now_ms - int(r.random() * 400 * DAY_MS)
        modified = min(self.now_ms, created + int(r.random() * 3 * 3_600_000))
        user = f"user{r.randrange(150)}@contoso.example"
        props: dict[str, str] = {"azureml.runsource": "azureml.CommandJob", "ContentSnapshotId": _guid(name)}
        g = r.random()
        if g < 0.6:
            props.update(
                {
                    "mlflow.source.git.repoURL": f"https://github.com/contoso/ml-{w.index % 5}.git",
                    "mlflow.source.git.branch": "main",
                    "mlflow.source.git.commit": _hex(40, self.seed, "commit", w.index, i),
                    "azureml.git.dirty": "True" if g < 0.05 else "False",
                }
            )
        elif g < 0.65:
            props.update(
                {
                    "azureml.git.repository_uri": f"https://github.com/contoso/legacy-{w.index % 3}.git",
                    "azureml.git.commit": _hex(40, self.seed, "commit", w.index, i),
                }
            )
        env: dict[str, str] = {"PYTHONUNBUFFERED": "1"}
        e = r.random()
        if e < 0.10:
            env["MLFLOW_TRACKING_URI"] = self.aml_workspace(w, "https://unused")["properties"]["mlFlowTrackingUri"]
        elif e < 0.13:
            env["MLFLOW_TRACKING_TOKEN"] = fake_jwt(
                exp=self.now - timedelta(days=30 + r.randrange(60)), aud="https://management.azure.com"
            )
        elif e < 0.15:
            env["MLFLOW_TRACKING_URI"] = (
                f"azureml://{w.location}.api.azureml.ms/mlflow/v1.0/subscriptions/{w.sub}"
                f"/resourceGroups/{w.rg}/providers/Microsoft.MachineLearningServices/workspaces/aml-ws-deleted"
            )
        c = r.random()
        if c < 0.85:
            compute: str | None = f"{w.id}/computes/{self.aml_compute_name(w, 3 + r.randrange(w.n_computes - 3))}"
        elif c < 0.95:
            compute = f"{w.id}/computes/{self.aml_compute_name(w, r.randrange(3))}"
        else:
            compute = None
        st = r.random()
        status = "Completed" if st < 0.8 else "Failed" if st < 0.92 else "Canceled"
        archived = self.aml_job_archived(w, i)
        pipeline = r.random() < 0.15
        body: dict[str, Any] = {
            "description": None,
            "tags": {"owner": user},
            "properties": props,
            "displayName": name,
            "status": status,
            "experimentName": exp,
            "services": {
                "Studio": {
                    "jobServiceType": "Studio",
                    "endpoint": f"https://ml.azure.com/runs/{name}?wsid={w.id}",
                }
            },
            "computeId": compute,
            "isArchived": archived,
        }
        if pipeline:
            body.update({"jobType": "Pipeline", "inputs": {}, "outputs": {}, "jobs": {}, "settings": {}})
        else:
            body.update(
                {
                    "jobType": "Command",
                    "command": "python train.py --epochs 10",
                    "environmentId": "azureml://registries/azureml/environments/sklearn-1.5/labels/latest",
                    "environmentVariables": env,
                    "inputs": {},
                    "outputs": {
                        "default": {
                            "jobOutputType": "uri_folder",
                            "mode": "ReadWriteMount",
                            "uri": f"azureml://datastores/workspaceartifactstore/ExperimentRun/dcid.{name}",
                        }
                    },
                    "resources": {"instanceCount": 1, "properties": {}},
                    "limits": {"jobLimitsType": "Command", "timeout": "PT2H"},
                    "parameters": {},
                }
            )
        return {
            "id": f"{w.id}/jobs/{name}",
            "name": name,
            "type": "Microsoft.MachineLearningServices/workspaces/jobs",
            "properties": body,
            "systemData": {
                "createdAt": _iso(created),
                "createdBy": user,
                "createdByType": "User",
                "lastModifiedAt": _iso(modified),
                "lastModifiedBy": user,
                "lastModifiedByType": "User",
            },
        }

    def aml_experiment_names(self, w: AmlWs) -> set[str]:
        """Distinct experiment names of the workspace's jobs (all views)."""
        return {self.aml_job(w, i)["properties"]["experimentName"] for i in range(w.n_jobs)}

    # --- ACR ----------------------------------------------------------------------------

    def registry(self, reg: Registry) -> dict[str, Any]:
        """`GET registries/{r}`."""
        return {
            "id": reg.id,
            "name": reg.name,
            "type": "Microsoft.ContainerRegistry/registries",
            "location": reg.location,
            "tags": {},
            "sku": {"name": reg.sku, "tier": reg.sku},
            "properties": {
                "loginServer": f"{reg.name}.azurecr.io",
                "creationDate": _iso(self.now_ms - 500 * DAY_MS),
                "provisioningState": "Succeeded",
                "adminUserEnabled": False,
                "publicNetworkAccess": "Enabled",
                "anonymousPullEnabled": False,
                "zoneRedundancy": "Disabled",
                "networkRuleBypassOptions": "AzureServices",
                "dataEndpointEnabled": False,
                "policies": {
                    "retentionPolicy": {"days": 7, "status": "disabled"},
                    "quarantinePolicy": {"status": "disabled"},
                    "trustPolicy": {"type": "Notary", "status": "disabled"},
                },
                "encryption": {"status": "disabled"},
            },
        }

    def registry_usages(self, reg: Registry) -> dict[str, Any]:
        """`listUsages`: storage used against what the SKU includes."""
        return {
            "value": [
                {"name": "Size", "limit": reg.included_bytes, "currentValue": reg.size_bytes, "unit": "Bytes"},
                {"name": "Webhooks", "limit": 10 if reg.sku != "Premium" else 500, "currentValue": 1, "unit": "Count"},
            ]
        }

    def role_definition(self, guid: str, scope: str) -> dict[str, Any] | None:
        """A role definition as `GET {scope}/providers/Microsoft.Authorization/roleDefinitions/{id}`."""
        rd = self.role_defs.get(guid.lower())
        if rd is None:
            return None
        return {
            "id": f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{rd.guid}",
            "name": rd.guid,
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {
                "roleName": rd.name,
                "type": rd.type,
                "description": f"{rd.name} (synthetic)",
                "assignableScopes": ["/"]
                if rd.type == "BuiltInRole"
                else [f"/subscriptions/{s.subscription_id}" for s in self.subscriptions],
                "permissions": [
                    {
                        "actions": list(rd.actions),
                        "notActions": list(rd.not_actions),
                        "dataActions": [],
                        "notDataActions": [],
                    }
                ],
                "createdOn": "2015-02-02T21:55:09.8806423Z",
                "updatedOn": "2024-01-01T00:00:00.0000000Z",
            },
        }

    @staticmethod
    def role_assignment(ra: RoleAssignmentRec) -> dict[str, Any]:
        """A role assignment resource."""
        return {
            "id": ra.id,
            "name": ra.guid,
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {
                "roleDefinitionId": ra.role_definition_id,
                "principalId": ra.principal_id,
                "principalType": ra.principal_type,
                "scope": ra.scope,
                "condition": None,
                "conditionVersion": None,
                "createdOn": _iso(ra.created_ms),
                "updatedOn": _iso(ra.created_ms),
                "createdBy": None,
                "updatedBy": None,
                "delegatedManagedIdentityResourceId": None,
                "description": None,
            },
        }

    # --- Databricks: ARM ----------------------------------------------------------------

    def dbx_workspace(self, d: DbxWs) -> dict[str, Any]:
        """The ARM `Microsoft.Databricks/workspaces` resource; `workspaceUrl` is its host."""
        return {
            "id": d.id,
            "name": d.name,
            "type": "Microsoft.Databricks/workspaces",
            "location": d.location,
            "tags": {},
            "sku": {"name": "premium"},
            "properties": {
                "managedResourceGroupId": f"/subscriptions/{d.sub}/resourceGroups/databricks-rg-{d.name}",
                "parameters": {"enableNoPublicIp": {"type": "Bool", "value": True}},
                "provisioningState": "Succeeded",
                "uiDefinitionUri": "https://path/to/workspaceCreateUiDefinition.json",
                "authorizations": [
                    {
                        "principalId": "00000000-0000-0000-0000-000000000000",
                        "roleDefinitionId": OWNER,
                    }
                ],
                "createdBy": {"oid": _guid(self.seed, "user", 0), "applicationId": None},
                "createdDateTime": _iso(d.created_ms),
                "workspaceId": str(d.workspace_id),
                "workspaceUrl": d.host.split("://", 1)[-1],
                "isUcEnabled": True,
                "publicNetworkAccess": "Enabled",
            },
        }

    # --- Databricks: clusters -----------------------------------------------------------

    @staticmethod
    def cluster_source(i: int) -> str:
        """`UI`, `API` (all-purpose) or `JOB`, by index."""
        return ("UI", "API", "JOB", "JOB", "JOB")[i % 5]

    def cluster_id(self, d: DbxWs, i: int) -> str:
        """A Databricks-shaped cluster id."""
        return (
            f"{(i % 12) + 1:02d}{(i % 28) + 1:02d}-{(i * 7919) % 1_000_000:06d}-{_hex(8, self.seed, 'cl', d.index, i)}"
        )

    def cluster_state(self, d: DbxWs, i: int) -> str:
        """RUNNING for some all-purpose clusters, TERMINATED otherwise."""
        if self.cluster_source(i) == "JOB":
            return "TERMINATED"
        return "RUNNING" if _u(self.seed, "clstate", d.index, i) < 0.4 else "TERMINATED"

    def cluster_pinned(self, d: DbxWs, i: int) -> bool:
        """Some all-purpose clusters are pinned (`filter_by.is_pinned`; the list omits the flag)."""
        return self.cluster_source(i) != "JOB" and _u(self.seed, "clpin", d.index, i) < 0.2

    def cluster(self, d: DbxWs, i: int) -> dict[str, Any]:
        """Cluster `i` in the `clusters/list` shape."""
        from mlgov.replay import fake_jwt

        r = _rng(self.seed, "cluster", d.index, i)
        source = self.cluster_source(i)
        state = self.cluster_state(d, i)
        user = f"user{r.randrange(150)}@contoso.example"
        start = self.now_ms - int(r.random() * 25 * DAY_MS)
        env: dict[str, str] = {"PYSPARK_PYTHON": "/databricks/python3/bin/python3"}
        x = r.random()
        if x < 0.05:
            env["MLFLOW_TRACKING_TOKEN"] = fake_jwt(exp=self.now - timedelta(days=3 + r.randrange(40)))
        elif x < 0.15:
            env["DATADOG_API_KEY"] = "{{secrets/observability/datadog}}"
        out: dict[str, Any] = {
            "cluster_id": self.cluster_id(d, i),
            "cluster_name": f"{'shared' if source != 'JOB' else 'job'}-{d.index}-{i}",
            "spark_version": "15.4.x-scala2.12",
            "node_type_id": ("Standard_DS3_v2", "Standard_E8ds_v5", "Standard_NC6s_v3")[i % 3],
            "driver_node_type_id": "Standard_DS3_v2",
            "spark_env_vars": env,
            "spark_conf": {"spark.databricks.delta.preview.enabled": "true"},
            "azure_attributes": {
                "availability": "SPOT_WITH_FALLBACK_AZURE" if r.random() < 0.3 else "ON_DEMAND_AZURE",
                "first_on_demand": 1,
                "spot_bid_max_price": -1,
            },
            "cluster_source": source,
            "state": state,
            "creator_user_name": user,
            "start_time": start,
            "enable_elastic_disk": True,
            "data_security_mode": "SINGLE_USER",
            "single_user_name": user,
            "default_tags": {"Vendor": "Databricks", "Creator": user, "ClusterId": self.cluster_id(d, i)},
            "custom_tags": {"team": f"team-{i % 4}"},
        }
        if r.random() < 0.5:
            out["num_workers"] = 1 + r.randrange(8)
        else:
            out["autoscale"] = {"min_workers": 1 + r.randrange(2), "max_workers": 4 + r.randrange(8)}
        if source == "JOB":
            out["autotermination_minutes"] = 0
            out["terminated_time"] = start + 3_600_000
        else:
            out["autotermination_minutes"] = (0, 30, 60, 120, 240, 10_000)[r.randrange(6)]
            if state == "TERMINATED":
                out["terminated_time"] = start + 7_200_000
        return out

    # --- Databricks: jobs ---------------------------------------------------------------

    def dbx_job_id(self, d: DbxWs, j: int) -> int:
        """Job id of job index `j`."""
        return 100_000_000 * (d.index + 1) + 7 * j + 3

    def dbx_job_index(self, d: DbxWs, job_id: int) -> int | None:
        """Job index of a job id, or None when the workspace has no such job."""
        rest = job_id - 100_000_000 * (d.index + 1) - 3
        if rest < 0 or rest % 7:
            return None
        j = rest // 7
        return j if j < d.n_jobs else None

    def dbx_job(self, d: DbxWs, j: int) -> dict[str, Any]:
        """Job `j` with every task and job cluster (callers page them)."""
        from mlgov.replay import fake_jwt, fake_pat

        r = _rng(self.seed, "dbxjob", d.index, j)
        big = j in d.big_jobs
        user = f"user{r.randrange(150)}@contoso.example"
        created = d.created_ms + int(r.random() * 650 * DAY_MS)
        git = r.random() < 0.45
        mode = r.random()
        n_tasks = self.preset.big_job_tasks if big else 1 + r.randrange(4)
        env: dict[str, str] = {"ENV": "prod"}
        x = r.random()
        if x < 0.02:
            env["MLFLOW_TRACKING_TOKEN"] = fake_jwt(exp=self.now - timedelta(days=1 + r.randrange(90)))
        elif x < 0.03:
            env["DATABRICKS_TOKEN"] = fake_pat(f"bench-{self.seed}-{d.index}-{j}")
        elif x < 0.08:
            env["SERVICE_API_KEY"] = "{{secrets/etl/service-key}}"
        elif x < 0.10 and self.aml:
            a = self.aml[j % len(self.aml)]
            env["MLFLOW_TRACKING_URI"] = (
                f"azureml://{a.location}.api.azureml.ms/mlflow/v1.0/subscriptions/{a.sub}/resourceGroups/{a.rg}"
                f"/providers/Microsoft.MachineLearningServices/workspaces/{a.name if x < 0.09 else 'aml-ws-gone'}"
            )
        spot = r.random() < 0.35
        cluster_spec: dict[str, Any] = {
            "spark_version": "15.4.x-scala2.12",
            "node_type_id": "Standard_DS3_v2" if r.random() < 0.7 else "Standard_E8ds_v5",
            "spark_env_vars": env,
            "azure_attributes": {
                "availability": "SPOT_WITH_FALLBACK_AZURE" if spot else "ON_DEMAND_AZURE",
                "first_on_demand": 1,
                "spot_bid_max_price": -1,
            },
            "data_security_mode": "SINGLE_USER",
        }
        if r.random() < 0.6:
            cluster_spec["num_workers"] = 1 + r.randrange(6)
        else:
            cluster_spec["autoscale"] = {"min_workers": 1, "max_workers": 2 + r.randrange(10)}
        if big:
            compute = "job_cluster"
        elif mode < 0.15 and d.all_purpose:
            compute = "existing"
        elif mode < 0.75:
            compute = "job_cluster"
        elif mode < 0.90:
            compute = "serverless"
        else:
            compute = "new_cluster"
        existing = self.cluster_id(d, d.all_purpose[r.randrange(len(d.all_purpose))]) if d.all_purpose else None
        tasks = []
        for k in range(n_tasks):
            t: dict[str, Any] = {
                "task_key": f"step_{k:03d}",
                "timeout_seconds": 0,
                "email_notifications": {},
                "run_if": "ALL_SUCCESS",
            }
            if k:
                t["depends_on"] = [{"task_key": f"step_{k - 1:03d}"}]
            if compute == "serverless":
                t["spark_python_task"] = {
                    "python_file": f"jobs/step_{k}.py" if git else f"/Workspace/Users/{user}/jobs/step_{k}.py",
                    "source": "GIT" if git else "WORKSPACE",
                    "parameters": ["--env", "prod"],
                }
                t["environment_key"] = "default"
            else:
                if git:
                    path, source = f"notebooks/step_{k}", "GIT"
                elif r.random() < 0.3:
                    path, source = f"/Repos/{user}/pipelines/step_{k}", "WORKSPACE"
                else:
                    path, source = f"/Workspace/Users/{user}/etl/step_{k}", "WORKSPACE"
                t["notebook_task"] = {
                    "notebook_path": path,
                    "source": source,
                    "base_parameters": {"date": "{{job.start_time.iso_date}}"},
                }
                if compute == "existing":
                    t["existing_cluster_id"] = existing
                elif compute == "job_cluster":
                    t["job_cluster_key"] = "main"
                else:
                    t["new_cluster"] = cluster_spec
            tasks.append(t)
        settings: dict[str, Any] = {
            "name": f"etl-{d.index}-{j:05d}",
            "tasks": tasks,
            "email_notifications": {},
            "webhook_notifications": {},
            "timeout_seconds": 0,
            "max_concurrent_runs": 1,
            "format": "MULTI_TASK",
            "queue": {"enabled": True},
        }
        if compute == "job_cluster":
            settings["job_clusters"] = [{"job_cluster_key": "main", "new_cluster": cluster_spec}]
        if compute == "serverless":
            settings["environments"] = [{"environment_key": "default", "spec": {"client": "2", "dependencies": []}}]
        if git:
            settings["git_source"] = {
                "git_url": f"https://github.com/contoso/pipelines-{j % 7}.git",
                "git_provider": "gitHub",
                "git_branch": "main",
            }
        if r.random() < 0.2:
            settings["deployment"] = {
                "kind": "BUNDLE",
                "metadata_file_path": f"/Workspace/Users/{user}/.bundle/etl/state/metadata.json",
            }
        if r.random() < 0.6:
            settings["schedule"] = {
                "quartz_cron_expression": f"0 {j % 60} {j % 24} * * ?",
                "timezone_id": "UTC",
                "pause_status": "UNPAUSED" if r.random() < 0.8 else "PAUSED",
            }
        if r.random() < 0.3:
            settings["parameters"] = [{"name": "env", "default": "prod"}]
        return {
            "job_id": self.dbx_job_id(d, j),
            "creator_user_name": user,
            "run_as_user_name": user,
            "created_time": created,
            "settings": settings,
        }

    # --- Databricks: runs ---------------------------------------------------------------

    def run_index(self, d: DbxWs) -> _RunIndex:
        """The workspace's runs, newest first (built once, a few MB at most)."""
        if d.runs is None:
            r = _rng(self.seed, "runs", d.index)
            eligible = max(1, d.n_jobs - d._big)
            rows = []
            for _ in range(d.n_runs):
                if r.random() < self.preset.old_runs_ratio:
                    age = 31 * DAY_MS + int(r.random() * 29 * DAY_MS)
                else:
                    age = 60_000 + int(r.random() * (29 * DAY_MS))
                job = int(eligible * r.random() ** 2.5)
                rows.append((self.now_ms - age, job, 120_000 + int(r.random() * 3 * 3_600_000)))
            rows.sort(key=lambda x: -x[0])
            d.runs = _RunIndex(
                starts=array("q", (x[0] for x in rows)),
                neg_starts=array("q", (-x[0] for x in rows)),
                jobs=array("l", (x[1] for x in rows)),
                durations=array("l", (x[2] for x in rows)),
            )
        return d.runs

    def runs_positions(
        self,
        d: DbxWs,
        *,
        job_id: int | None = None,
        start_from: int | None = None,
        start_to: int | None = None,
        active_only: bool = False,
    ) -> list[int] | range:
        """Positions (newest first) of the runs matching `runs/list` filters."""
        idx = self.run_index(d)
        if active_only:
            return []  # every synthetic run is completed
        hi = len(idx.starts) if start_from is None else bisect.bisect_right(idx.neg_starts, -start_from)
        lo = 0 if start_to is None else bisect.bisect_left(idx.neg_starts, -start_to)
        if job_id is None:
            return range(lo, max(lo, hi))
        j = self.dbx_job_index(d, job_id)
        if j is None:
            return []
        if idx.by_job is None:
            by: dict[int, list[int]] = {}
            for pos, job in enumerate(idx.jobs):
                by.setdefault(job, []).append(pos)
            idx.by_job = {k: array("l", v) for k, v in by.items()}
        mine = idx.by_job.get(j, array("l"))
        return list(mine[bisect.bisect_left(mine, lo) : bisect.bisect_left(mine, hi)])

    def run_id(self, d: DbxWs, pos: int) -> int:
        """Run id of the run at `pos` (newer runs have larger ids)."""
        return 900_000_000_000 * (d.index + 1) + (d.n_runs - pos) * 11

    def run_position(self, d: DbxWs, run_id: int) -> int | None:
        """Position of a run id, or None."""
        rest = 900_000_000_000 * (d.index + 1) + d.n_runs * 11 - run_id
        if rest < 0 or rest % 11:
            return None
        pos = rest // 11
        return pos if pos < d.n_runs else None

    def run(self, d: DbxWs, pos: int, *, expand_tasks: bool) -> dict[str, Any]:
        """The run at `pos` in the `runs/list` shape (tasks only with `expand_tasks`)."""
        idx = self.run_index(d)
        start, j, dur = idx.starts[pos], idx.jobs[pos], idx.durations[pos]
        run_id = self.run_id(d, pos)
        job_id = self.dbx_job_id(d, j)
        out: dict[str, Any] = {
            "job_id": job_id,
            "run_id": run_id,
            "number_in_job": run_id,
            "original_attempt_run_id": run_id,
            "creator_user_name": f"user{j % 150}@contoso.example",
            "state": {
                "life_cycle_state": "TERMINATED",
                "result_state": "SUCCESS",
                "state_message": "",
                "user_cancelled_or_timedout": False,
            },
            "status": {
                "state": "TERMINATED",
                "termination_details": {"code": "SUCCESS", "type": "SUCCESS", "message": ""},
            },
            "start_time": start,
            "end_time": start + dur,
            "setup_duration": 0,
            "execution_duration": 0,
            "cleanup_duration": 0,
            "run_duration": dur,
            "trigger": "PERIODIC",
            "run_name": f"etl-{d.index}-{j:05d}",
            "run_page_url": f"{d.host}/?o={d.workspace_id}#job/{job_id}/run/{run_id}",
            "run_type": "JOB_RUN",
            "format": "MULTI_TASK",
            "attempt_number": 0,
        }
        if expand_tasks:
            job = self.dbx_job(d, j)
            tasks = job["settings"]["tasks"]
            share = max(1, dur // max(1, len(tasks)))
            truns = []
            for k, t in enumerate(tasks):
                tr: dict[str, Any] = {
                    "run_id": run_id * 1000 + k + 1,
                    "task_key": t["task_key"],
                    "start_time": start + k * share,
                    "end_time": start + (k + 1) * share,
                    "setup_duration": 0,
                    "execution_duration": 0,
                    "cleanup_duration": 0,
                    "run_duration": share,
                    "attempt_number": 0,
                    "state": {"life_cycle_state": "TERMINATED", "result_state": "SUCCESS", "state_message": ""},
                }
                if "existing_cluster_id" in t:
                    tr["existing_cluster_id"] = t["existing_cluster_id"]
                    tr["cluster_instance"] = {"cluster_id": t["existing_cluster_id"]}
                elif "job_cluster_key" in t or "new_cluster" in t:
                    if "job_cluster_key" in t:
                        tr["job_cluster_key"] = t["job_cluster_key"]
                    tr["cluster_instance"] = {"cluster_id": f"{run_id % 10_000:04d}-{run_id % 1_000_000:06d}-jc{k}"}
                for kind in ("notebook_task", "spark_python_task"):
                    if kind in t:
                        tr[kind] = t[kind]
                truns.append(tr)
            out["tasks"] = truns
            if "job_clusters" in job["settings"]:
                out["job_clusters"] = job["settings"]["job_clusters"]
        return out

    # --- Databricks: repos, tokens ------------------------------------------------------

    def repo(self, d: DbxWs, i: int) -> dict[str, Any]:
        """A Git folder."""
        return {
            "id": 3_000_000_000 + d.index * 10_000 + i,
            "path": f"/Repos/user{i % 30}@contoso.example/project-{i}",
            "url": f"https://github.com/contoso/project-{i}.git",
            "provider": "gitHub",
            "branch": "main",
            "head_commit_id": _hex(40, self.seed, "repo", d.index, i),
        }

    def token(self, d: DbxWs, i: int) -> dict[str, Any]:
        """Token-management metadata of a PAT (never its value)."""
        r = _rng(self.seed, "token", d.index, i)
        created = self.now_ms - int(r.random() * 400 * DAY_MS)
        life = (-1, 30, 90, 180, 365)[r.randrange(5)]
        user_no = r.randrange(150)
        return {
            "token_id": _hex(64, self.seed, "tokid", d.index, i),
            "creation_time": created,
            "expiry_time": -1 if life < 0 else created + life * DAY_MS,
            "comment": f"token {i} for automation" if i % 3 else "",
            "created_by_id": 4_000_000 + user_no,
            "created_by_username": f"user{user_no}@contoso.example",
            "owner_id": 4_000_000 + user_no,
            "last_used_day": created + int(r.random() * 30) * DAY_MS,
        }

    # --- Databricks: MLflow -------------------------------------------------------------

    def experiment_index(self, d: DbxWs) -> _ExperimentIndex:
        """Per-experiment times and run summary (built once)."""
        if d.experiments is None:
            r = _rng(self.seed, "experiments", d.index)
            created, last, n_runs, latest, deleted = (array("q") for _ in range(5))
            for _ in range(d.n_experiments):
                c = self.now_ms - int((1 + r.random() * 899) * DAY_MS)
                n = (0, 0, 1, 2, 3, 4, 6)[r.randrange(7)]
                lr = 0
                if n:
                    if r.random() < 0.4:
                        lr = self.now_ms - int((91 + r.random() * 600) * DAY_MS)
                    else:
                        lr = self.now_ms - int(r.random() * 89 * DAY_MS)
                    lr = max(lr, c + 3_600_000)
                created.append(c)
                last.append(max(c, c + int(r.random() * 10 * DAY_MS)))
                n_runs.append(n)
                latest.append(lr)
                deleted.append(1 if r.random() < 0.05 else 0)
            d.experiments = _ExperimentIndex(created, last, n_runs, latest, deleted)
        return d.experiments

    def experiment_id(self, d: DbxWs, i: int) -> str:
        """Experiment id (a 16-digit number, as Databricks uses)."""
        return str(2_000_000_000_000_000 + d.index * 10_000_000 + i)

    def experiment_position(self, d: DbxWs, experiment_id: str) -> int | None:
        """Index of an experiment id, or None."""
        try:
            rest = int(experiment_id) - 2_000_000_000_000_000 - d.index * 10_000_000
        except ValueError:
            return None
        return rest if 0 <= rest < d.n_experiments else None

    def experiment(self, d: DbxWs, i: int) -> dict[str, Any]:
        """Experiment `i` in the `experiments/search` shape."""
        ix = self.experiment_index(d)
        eid = self.experiment_id(d, i)
        user = f"user{i % 150}@contoso.example"
        return {
            "experiment_id": eid,
            "name": f"/Users/{user}/experiment-{i:05d}",
            "artifact_location": f"dbfs:/databricks/mlflow-tracking/{eid}",
            "lifecycle_stage": "deleted" if ix.deleted[i] else "active",
            "last_update_time": ix.last_update[i],
            "creation_time": ix.created[i],
            "tags": [
                {"key": "mlflow.ownerEmail", "value": user},
                {"key": "mlflow.experimentType", "value": "MLFLOW_EXPERIMENT"},
            ],
        }

    def mlflow_runs(self, d: DbxWs, i: int) -> list[dict[str, Any]]:
        """The MLflow runs of experiment `i`, newest first."""
        ix = self.experiment_index(d)
        n, latest = ix.n_runs[i], ix.latest_run[i]
        eid = self.experiment_id(d, i)
        out = []
        for k in range(n):
            start = max(ix.created[i], latest - k * int(_u(self.seed, "mlr", d.index, i, k) * 20 * DAY_MS + DAY_MS))
            rid = _hex(32, self.seed, "mlrun", d.index, i, k)
            out.append(
                {
                    "info": {
                        "run_id": rid,
                        "run_uuid": rid,
                        "run_name": f"run-{k}",
                        "experiment_id": eid,
                        "user_id": f"user{i % 150}@contoso.example",
                        "status": "FINISHED",
                        "start_time": start,
                        "end_time": start + 600_000,
                        "artifact_uri": f"dbfs:/databricks/mlflow-tracking/{eid}/{rid}/artifacts",
                        "lifecycle_stage": "active",
                    },
                    "data": {"metrics": [], "params": [], "tags": []},
                    "inputs": {},
                }
            )
        return out

    # --- Totals -------------------------------------------------------------------------

    def window_start_ms(self, window_days: int = 30) -> int:
        """Start of the runs window mlgov reads (`collection.runs_window_days`)."""
        return self.now_ms - window_days * DAY_MS

    def counts(self, *, window_days: int = 30) -> dict[str, int]:
        """How many objects of each kind the tenant holds (what a complete audit collects)."""
        start = self.window_start_ms(window_days)
        return {
            "subscriptions": len(self.subscriptions),
            "aml_workspaces": len(self.aml),
            "aml_jobs": sum(w.n_jobs for w in self.aml),
            "aml_jobs_active": sum(len(self.aml_job_positions(w, "ActiveOnly")) for w in self.aml),
            "aml_computes": sum(w.n_computes for w in self.aml),
            "registries_referenced": len({w.registry_id.lower() for w in self.aml if w.registry_id}),
            "role_assignments": sum(len(self.assignments_for_scope(s)) for s in self.audited_arm_scopes()),
            "dbx_workspaces": len(self.dbx),
            "dbx_clusters": sum(w.n_clusters for w in self.dbx),
            "dbx_jobs": sum(w.n_jobs for w in self.dbx),
            "dbx_job_tasks": sum(
                len(self.dbx_job(w, j)["settings"]["tasks"]) for w in self.dbx for j in range(w.n_jobs)
            ),
            "dbx_runs": sum(w.n_runs for w in self.dbx),
            "dbx_runs_in_window": sum(len(self.runs_positions(w, start_from=start)) for w in self.dbx),
            "dbx_experiments": sum(w.n_experiments for w in self.dbx),
            "dbx_experiments_active": sum(self.active_experiments(w) for w in self.dbx),
            "dbx_repos": sum(w.n_repos for w in self.dbx),
            "dbx_tokens": sum(w.n_tokens for w in self.dbx),
        }

    def active_experiments(self, d: DbxWs) -> int:
        """Experiments not deleted (what `view_type=ACTIVE_ONLY`, the default, lists)."""
        ix = self.experiment_index(d)
        return len(ix.deleted) - sum(ix.deleted)

    def audited_arm_scopes(self) -> list[str]:
        """ARM ids whose role assignments an audit reads: every AML and Databricks workspace."""
        return [w.id for w in self.aml] + [w.id for w in self.dbx]

    def existing_cluster_jobs(self, d: DbxWs) -> list[int]:
        """Indexes of the jobs with a task on an all-purpose cluster (whose runs CMP-001 prices)."""
        cache = self._existing_jobs
        if d.index not in cache:
            cache[d.index] = [
                j
                for j in range(d.n_jobs)
                if any("existing_cluster_id" in t for t in self.dbx_job(d, j)["settings"]["tasks"])
            ]
        return cache[d.index]

    @cached_property
    def _existing_jobs(self) -> dict[int, list[int]]:
        return {}

    def experiments_needing_runs(self, d: DbxWs, *, horizon_days: int = 90) -> int:
        """Active experiments not updated within `horizon_days`: only their newest run tells
        whether they are stale (EXP-002)."""
        ix = self.experiment_index(d)
        edge = self.now_ms - horizon_days * DAY_MS
        return sum(1 for i in range(d.n_experiments) if not ix.deleted[i] and ix.last_update[i] < edge)

    def runs_pages(self, d: DbxWs, *, window_days: int = 30) -> tuple[int, int]:
        """`runs/list` calls for the window: (one listing of every run, one listing per job
        that runs on an all-purpose cluster)."""
        start = self.window_start_ms(window_days)
        ps = self.pages.dbx_runs_max
        whole = pages(len(self.runs_positions(d, start_from=start)), ps)
        per_job = sum(
            pages(len(self.runs_positions(d, job_id=self.dbx_job_id(d, j), start_from=start)), ps)
            for j in self.existing_cluster_jobs(d)
        )
        return whole, per_job

    def minimum_pages(self, *, window_days: int = 30, horizon_days: int = 90) -> dict[str, int]:
        """Fewest requests per route that read what an audit needs, with the largest pages allowed.

        - discovery: the provider lists by subscription (they carry every property);
        - AML jobs: one `listViewType=All` listing per workspace;
        - job runs (only needed for jobs on all-purpose clusters, CMP-001): per workspace, the
          cheaper of one listing of the window and one listing per such job;
        - newest MLflow run of each active experiment not updated within `horizon_days`:
          one `runs/search` per batch of `mlflow_run_search_experiment_ids` experiments
          (an experiment has at most 6 runs, so a batch fits one page);
        - role definitions: one GET per distinct role (GUID; built-in and custom role ids are
          the same under every subscription);
        - an empty list still costs one call.
        """
        ps = self.pages
        n_subs = len(self.subscriptions)
        sub_ids = [s.subscription_id for s in self.subscriptions]
        regs = {w.registry_id.lower() for w in self.aml if w.registry_id}
        role_ids: set[str] = set()
        ra_pages = 0
        for scope in self.audited_arm_scopes():
            found = self.assignments_for_scope(scope)
            ra_pages += pages(len(found), ps.arm)
            role_ids.update(ra.role_guid.lower() for ra in found)
        out = {
            R_SUBS: pages(n_subs, ps.arm),
            R_AML_WS_LIST: sum(pages(sum(1 for w in self.aml if w.sub == s), ps.arm) for s in sub_ids),
            R_DBX_WS_LIST: sum(pages(sum(1 for w in self.dbx if w.sub == s), ps.arm) for s in sub_ids),
            R_AML_COMPUTES: sum(pages(w.n_computes, ps.arm) for w in self.aml),
            R_AML_JOBS: sum(pages(w.n_jobs, ps.arm) for w in self.aml),
            R_ACR_GET: len(regs),
            R_ACR_USAGES: sum(1 for r in regs if self.registries[r].exists),
            R_RA_LIST: ra_pages,
            R_RD_GET: len(role_ids),
            R_CLUSTERS: sum(pages(w.n_clusters, ps.dbx_clusters_max) for w in self.dbx),
            R_JOBS: sum(pages(w.n_jobs, ps.dbx_jobs_max) for w in self.dbx),
            R_JOB_GET: sum(len(w.big_jobs) * pages(self.preset.big_job_tasks, ps.dbx_job_tasks) for w in self.dbx),
            R_RUNS: sum(min(self.runs_pages(w, window_days=window_days)) for w in self.dbx),
            R_REPOS: sum(pages(w.n_repos, ps.dbx_repos) for w in self.dbx),
            R_TOKENS: len(self.dbx),
            R_EXP_SEARCH: sum(pages(self.active_experiments(w), ps.mlflow_experiments_max) for w in self.dbx),
            R_RUN_SEARCH: sum(
                math.ceil(
                    self.experiments_needing_runs(w, horizon_days=horizon_days) / ps.mlflow_run_search_experiment_ids
                )
                for w in self.dbx
            ),
        }
        return out
