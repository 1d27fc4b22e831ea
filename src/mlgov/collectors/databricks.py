"""Databricks workspace collector: clusters, jobs, job runs, repos, experiments and tokens.

Reads one workspace through the real databricks-sdk 0.156 `WorkspaceClient` built by the
audit context, and turns what the APIs return into `mlgov.inventory` records. SDK objects
never leave this module.

Each API family is read on its own thread and yields one `ScopeStatus`: a family that fails
(403 on token management, a workspace that keeps answering 429 until the retry deadline...) is
recorded with its HTTP status, error code and a hint, and the other families are still read.
Runs of a job are listed as soon as the job is read, several jobs at once.

Calls, per workspace (none per object where a list already has the data):
- `clusters/list` every page, then the pinned-cluster filter (the list omits the flag);
- `jobs/list?expand_tasks=true&limit=100` every page, plus `jobs/get` pages only for a job
  with more than 100 tasks or job clusters (the SDK's `JobsExt`);
- `jobs/runs/list` (completed, over `collection.runs_window_days`, 25 a page) only for jobs
  with a task on an all-purpose cluster, the only runs a policy (CMP-001) needs;
- `repos` and `token-management/tokens`;
- `experiments/search` (3,000 a page), then `runs/search` in batches of 100 experiments for
  those not updated within EXP-002's horizon (see `read_experiments`).
Runs and MLflow run searches are read as JSON: records only keep a few fields of them.

Every request of the workspace client goes through the context's limiters (`databricks`, or
`mlflow_search` for the MLflow search endpoints), is paced to the configured per-second rate
(per workspace, on the SDK client's clock so tests never sleep) and is counted per family.

Literal values of environment variables, Spark conf and task parameters are classified by
`mlgov.tokens` as they are read; only the facts about a credential survive, never the value.

Missing optional fields are None in the records. databricks-sdk 0.156 parses an enum value it
does not know (a new cluster source, availability or pause status) as None, so such values
are recorded as None too: an unknown cluster source then counts as all-purpose and an unknown
pause status as not paused, the cautious readings for the policies.
"""

from __future__ import annotations

import functools
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from mlgov.errors import CollectionError
from mlgov.inventory import (
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
    UriSighting,
)
from mlgov.tokens import classify, parse_azureml_uri, strip_credentials

if TYPE_CHECKING:
    from mlgov.context import AuditContext
    from mlgov.progress import ProgressListener
    from mlgov.targets import DatabricksTarget

SCOPE_KIND = "databricks_workspace"
FAMILIES = ("clusters", "jobs", "runs", "repos", "experiments", "tokens")
SEARCH_PAGE_SIZE = 3000
"""`max_results` for experiment search: the most the API allows."""
JOBS_PAGE_SIZE = 100
"""`limit` for jobs/list: the most Jobs 2.2 allows (the default is 20)."""
RUNS_PAGE_SIZE = 25
"""`limit` for jobs/runs/list: the most Jobs 2.2 allows (the default is 20)."""
RUN_SEARCH_BATCH = 100
"""Experiment ids per `runs/search`: Azure Databricks refuses more ("Too many experiment_ids
specified in SearchRuns request", mlflow/mlflow#13590); databricks-sdk documents no limit."""
RUN_SEARCH_PAGE_SIZE = 1000
"""`max_results` for `runs/search` (MLflow's default page; servers accept up to 50,000)."""
_MESSAGE_LIMIT = 400

# Kinds of task, from the field of `Task` that says what it runs.
_TASK_KINDS = (
    ("notebook_task", "notebook"),
    ("spark_python_task", "spark_python"),
    ("python_wheel_task", "python_wheel"),
    ("spark_jar_task", "spark_jar"),
    ("spark_submit_task", "spark_submit"),
    ("sql_task", "sql"),
    ("dbt_task", "dbt"),
    ("pipeline_task", "pipeline"),
    ("run_job_task", "run_job"),
    ("condition_task", "condition"),
    ("for_each_task", "for_each"),
)
# Tasks that run on serverless jobs compute when they name no cluster.
_SERVERLESS_CAPABLE = frozenset({"notebook", "spark_python", "python_wheel", "dbt"})


# ---------------------------------------------------------------------------------------------
# Entry point


def collect_workspace(
    ctx: AuditContext, target: DatabricksTarget, listener: ProgressListener
) -> tuple[DatabricksWorkspace, list[ScopeStatus]]:
    """Read every API family of one Databricks workspace; failures become failed scopes.

    Families: `clusters`, `jobs`, `runs`, `repos`, `experiments`, `tokens`, in that order.
    `runs` depends on `jobs` (it only reads runs of jobs that use existing clusters) and is
    recorded as failed, without a request, when `jobs` could not be read.
    """
    host = target.resource_id.removeprefix("databricks://")
    base = DatabricksWorkspace(
        resource_id=target.resource_id,
        host=host,
        name=target.name,
        arm_id=target.arm_id,
        location=target.location,
        pricing_tier=target.pricing_tier,
        runs_window_days=ctx.config.collection.runs_window_days,
    )
    try:
        client = ctx.databricks_client(target)
    except (ValueError, CollectionError) as exc:
        # Config() raises ValueError when the auth settings cannot produce a credential.
        status = ScopeStatus(
            scope_id=target.resource_id,
            scope_kind=SCOPE_KIND,
            family="*",
            ok=False,
            error=_short(f"cannot build a Databricks client: {_first_line(exc)}"),
            hint="Check the workspace's `auth` section in the config (type and the fields it needs), "
            "or the databricks-sdk environment variables for `type: default`.",
        )
        listener.family_done(target.resource_id, "*", 0, False)
        return base, [status]
    reader = _WorkspaceReader(ctx, target, client, listener)
    return reader.read(base)


# ---------------------------------------------------------------------------------------------
# Request metering: limiter, pacing, counting


class _Pacer:
    """Spaces requests at most `rate` per second, on the SDK client's clock."""

    def __init__(self, rate: float, clock: Any) -> None:
        self._interval = 1.0 / rate
        self._clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = float(self._clock.time())
            if self._next > now:
                self._clock.sleep(self._next - now)
                now = self._next
            self._next = now + self._interval


class _Meter:
    """Routes every request of one workspace client through the context's limiters.

    databricks-sdk list methods fetch their pages lazily inside the iterator, so the only
    place that sees each request is the client's `ApiClient.do`: the meter wraps that one
    bound method of this client instance (no SDK module is patched). A call that the SDK
    retries after a 429 counts once; its retries happen inside the wrapped call, which keeps
    its limiter slot while it waits (a throttled workspace gets no new requests meanwhile).

    Families are read on several threads: the family a request counts for is the calling
    thread's (`family()` sets it).
    """

    def __init__(self, ctx: AuditContext, client: Any) -> None:
        self._ctx = ctx
        api = client.api_client
        self._do: Callable[..., Any] = api.do
        api.do = self._do_metered
        rates = ctx.config.collection.rate_limits
        clock = client.config.clock
        self._pacers = {
            "databricks": _Pacer(rates.databricks_per_second, clock),
            "mlflow_search": _Pacer(rates.mlflow_search_per_second, clock),
        }
        self._local = threading.local()
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()

    @property
    def family(self) -> str:
        """The family the calling thread's requests count for (`*` outside any family)."""
        return str(getattr(self._local, "family", "*"))

    @family.setter
    def family(self, name: str) -> None:
        self._local.family = name

    def _do_metered(self, method: str, path: str | None = None, *args: Any, **kwargs: Any) -> Any:
        where = path or str(kwargs.get("url") or "")
        limiter = "mlflow_search" if "/mlflow/" in where and where.endswith("/search") else "databricks"
        self._ctx.deadline.check()
        self._pacers[limiter].wait()
        with self._ctx.limit(limiter):
            with self._lock:
                self.calls[self.family] += 1
            return self._do(method, path, *args, **kwargs)


class _Sink:
    """What one family found besides its records: credentials and AML URIs in configuration."""

    def __init__(self) -> None:
        self.secrets: list[SecretSighting] = []
        self.uris: list[UriSighting] = []


# ---------------------------------------------------------------------------------------------
# Reading


class _WorkspaceReader:
    """Reads the families of one workspace, concurrently.

    `clusters`, `jobs` (then `runs`), `repos`, `experiments` and `tokens` each run on a thread
    of their own; runs are listed for several jobs at once. Requests in flight are bounded by
    the context's family limiters and paced per workspace, so threads only overlap latency.
    Records, sightings and statuses come out in the same order whatever the timing.
    """

    def __init__(self, ctx: AuditContext, target: DatabricksTarget, client: Any, listener: ProgressListener) -> None:
        self.ctx = ctx
        self.target = target
        self.w = client
        self.listener = listener
        self.meter = _Meter(ctx, client)
        self.scope_id = target.resource_id
        self._local = threading.local()

    def oid(self, kind: str, ident: object) -> str:
        """`databricks://<host>/<kind>/<id>`."""
        return f"{self.scope_id}/{kind}/{ident}"

    def read(self, base: DatabricksWorkspace) -> tuple[DatabricksWorkspace, list[ScopeStatus]]:
        results: dict[str, tuple[list[Any] | None, ScopeStatus, _Sink]] = {}

        def jobs_then_runs() -> None:
            # Runs of a job are listed as soon as its page of jobs arrives, beside the job list.
            runs = _RunsReader(self)
            try:
                results["jobs"] = self.family("jobs", lambda: self.read_jobs(runs.submit))
                if results["jobs"][0] is None:
                    runs.abandon()
                    results["runs"] = self.skip(
                        "runs", "not read because the jobs family failed", hint="Fix the jobs error first."
                    )
                else:
                    results["runs"] = self.family("runs", runs.results)
            finally:
                runs.abandon()

        def one(name: str, fn: Callable[[], list[Any]]) -> Callable[[], None]:
            def go() -> None:
                results[name] = self.family(name, fn)

            return go

        work = [
            jobs_then_runs,  # the longest chain first
            one("experiments", self.read_experiments),
            one("clusters", self.read_clusters),
            one("repos", self.read_repos),
            one("tokens", self.read_tokens),
        ]
        with ThreadPoolExecutor(max_workers=len(work), thread_name_prefix="mlgov-dbx-family") as pool:
            for future in [pool.submit(fn) for fn in work]:
                future.result()

        statuses = [results[name][1] for name in FAMILIES]
        secrets: list[SecretSighting] = []
        uris: list[UriSighting] = []
        for name in FAMILIES:
            items, _status, sink = results[name]
            if items is not None:  # sightings of a family that failed halfway go with its records
                secrets.extend(sink.secrets)
                uris.extend(sink.uris)

        def records(name: str) -> tuple[Any, ...]:
            return tuple(results[name][0] or ())

        record = DatabricksWorkspace(
            resource_id=base.resource_id,
            host=base.host,
            name=base.name,
            arm_id=base.arm_id,
            location=base.location,
            pricing_tier=base.pricing_tier,
            clusters=records("clusters"),
            jobs=records("jobs"),
            runs=records("runs"),
            runs_window_days=base.runs_window_days,
            repos=records("repos"),
            experiments=records("experiments"),
            tokens=records("tokens"),
            secrets=tuple(secrets),
            mlflow_uris=tuple(uris),
        )
        return record, statuses

    def family(self, name: str, fn: Callable[[], list[Any]]) -> tuple[list[Any] | None, ScopeStatus, _Sink]:
        """Run one family reader on this thread; its records (None when it failed), status and sightings."""
        from databricks.sdk.errors.base import DatabricksError
        from requests import RequestException

        from mlgov.context import DeadlineExceeded

        sink = _Sink()
        self.meter.family = name
        self._local.sink = sink
        try:
            items = fn()
        except (
            DatabricksError,
            TimeoutError,
            RequestException,
            DeadlineExceeded,
            ValueError,
            KeyError,
            TypeError,
        ) as exc:
            # ValueError/KeyError/TypeError: a malformed response the SDK could not parse.
            status = failure_status(self.scope_id, name, exc, calls=self.meter.calls[name])
            self.listener.family_done(self.scope_id, name, 0, False)
            return None, status, sink
        finally:
            self.meter.family = "*"
            self._local.sink = None
        status = ScopeStatus(
            scope_id=self.scope_id,
            scope_kind=SCOPE_KIND,
            family=name,
            ok=True,
            calls=self.meter.calls[name],
        )
        self.listener.family_done(self.scope_id, name, len(items), True)
        return items, status, sink

    def in_family(self, name: str, fn: Callable[[], Any]) -> Callable[[], Any]:
        """`fn` wrapped to run on a worker thread as part of family `name` (for metering)."""
        sink = getattr(self._local, "sink", None)

        def go() -> Any:
            self.meter.family = name
            self._local.sink = sink
            try:
                return fn()
            finally:
                self.meter.family = "*"
                self._local.sink = None

        return go

    def skip(self, name: str, why: str, *, hint: str) -> tuple[None, ScopeStatus, _Sink]:
        status = ScopeStatus(
            scope_id=self.scope_id,
            scope_kind=SCOPE_KIND,
            family=name,
            ok=False,
            error=why,
            code="SKIPPED",
            hint=hint,
        )
        self.listener.family_done(self.scope_id, name, 0, False)
        return None, status, _Sink()

    # --- clusters ----------------------------------------------------------------------------

    def read_clusters(self) -> list[DbxCluster]:
        """`GET /api/2.1/clusters/list`, every page, each cluster turned into a record as its page
        arrives; then the pinned ones (the list omits the flag)."""
        from databricks.sdk.service.compute import ListClustersFilterBy

        out = []
        for c in self.w.clusters.list():
            cid = c.cluster_id or ""
            if not cid:
                continue
            rid = self.oid("clusters", cid)
            name = c.cluster_name or cid
            self.scan_map(rid, name, "databricks.cluster", "spark_env_vars", c.spark_env_vars)
            self.scan_map(rid, name, "databricks.cluster", "spark_conf", c.spark_conf)
            out.append(
                DbxCluster(
                    resource_id=rid,
                    cluster_id=cid,
                    name=name,
                    source=_enum(c.cluster_source),
                    state=_enum(c.state),
                    autotermination_minutes=c.autotermination_minutes,
                    size=cluster_size(c),
                    creator=c.creator_user_name,
                    is_pinned=False,
                )
            )
        pinned = self.pinned_cluster_ids(ListClustersFilterBy(is_pinned=True))
        return [replace(c, is_pinned=True) if c.cluster_id in pinned else c for c in out]

    def pinned_cluster_ids(self, pinned_filter: Any) -> set[str]:
        """Ids of pinned clusters; empty when the workspace does not support the filter (400/404)."""
        from databricks.sdk.errors.platform import BadRequest, NotFound

        try:
            return {c.cluster_id for c in self.w.clusters.list(filter_by=pinned_filter) if c.cluster_id}
        except (BadRequest, NotFound):
            return set()

    # --- jobs --------------------------------------------------------------------------------

    def read_jobs(self, on_job: Callable[[DbxJob], None] | None = None) -> list[DbxJob]:
        """`GET /api/2.2/jobs/list?expand_tasks=true&limit=100`, every page; `on_job` hears of
        each job as soon as it is read.

        Jobs 2.2 lists at most 100 tasks and job clusters per job and flags the rest with
        `has_more`; the SDK's `JobsExt.list` then reads the whole job through `jobs/get`
        (every page of it), so the records hold every task and job cluster.
        """
        out = []
        for j in self.w.jobs.list(expand_tasks=True, limit=JOBS_PAGE_SIZE):
            if j.job_id is None:
                continue
            job = self.job_record(j)
            out.append(job)
            if on_job is not None:
                on_job(job)
        return out

    def job_record(self, job: Any) -> DbxJob:
        s = job.settings
        rid = self.oid("jobs", job.job_id)
        name = (s.name if s else None) or f"job {job.job_id}"
        scan = _Scanner(self, rid, name, "databricks.job")
        tasks: list[DbxTask] = []
        clusters: list[DbxJobCluster] = []
        if s is not None:
            for jc in s.job_clusters or []:
                where = f"job_clusters[{jc.job_cluster_key}].new_cluster"
                if jc.new_cluster is None:
                    continue  # serverless (serverless_compute_id): no VM cluster to record
                scan.cluster_spec(where, jc.new_cluster)
                clusters.append(DbxJobCluster(key=jc.job_cluster_key, size=cluster_size(jc.new_cluster)))
            for p in s.parameters or []:
                scan.value("parameters", p.name, p.default)
            for ev in s.environment_variables or []:
                spec = ev.spec
                scan.mapping(
                    f"environment_variables[{ev.environment_variables_key}].spec.variables",
                    spec.variables if spec else None,
                )
            for env in s.environments or []:
                spec = env.spec
                scan.sequence(
                    f"environments[{env.environment_key}].spec",
                    "dependencies",
                    spec.dependencies if spec else None,
                )
            for t in s.tasks or []:
                task, new_cluster = self.task_record(t, scan, f"tasks[{t.task_key}]")
                tasks.append(task)
                if new_cluster is not None:
                    clusters.append(new_cluster)
        return DbxJob(
            resource_id=rid,
            job_id=int(job.job_id),
            name=name,
            creator=job.creator_user_name,
            git_url=s.git_source.git_url if s is not None and s.git_source is not None else None,
            tasks=tuple(tasks),
            job_clusters=tuple(clusters),
            scheduled=is_scheduled(s),
            bundle_managed=is_bundle_managed(s),
            created_at=ms_to_datetime(job.created_time),
        )

    def task_record(self, t: Any, scan: _Scanner, where: str) -> tuple[DbxTask, DbxJobCluster | None]:
        """A task's record and, when it declares its own `new_cluster`, that cluster.

        A `for_each` task is recorded as the task it repeats (kind, compute, path), since that
        is what runs; its credentials are reported under `<task>.for_each_task.task`.
        """
        body = t
        if t.for_each_task is not None and t.for_each_task.task is not None:
            body = t.for_each_task.task
            where = f"{where}.for_each_task.task"
        kind = task_kind(body)
        scan.task_parameters(where, body)
        new_cluster = None
        if body.new_cluster is not None:
            scan.cluster_spec(f"{where}.new_cluster", body.new_cluster)
            new_cluster = DbxJobCluster(key=f"task:{t.task_key}", size=cluster_size(body.new_cluster))
        path, source = task_path(body)
        return (
            DbxTask(
                task_key=t.task_key,
                kind=kind,
                compute=task_compute(body, kind),
                existing_cluster_id=body.existing_cluster_id,
                job_cluster_key=body.job_cluster_key,
                path=path,
                source=source,
            ),
            new_cluster,
        )

    # --- runs (listed beside the jobs, by `_RunsReader`) --------------------------------------

    def job_runs(self, job: DbxJob, since_ms: int) -> list[DbxJobRun]:
        """`GET /api/2.2/jobs/runs/list?job_id=...&completed_only=true&expand_tasks=true&limit=25
        &start_time_from=...`, every page, read as JSON (a run has dozens of fields; a record
        needs a handful, and building the SDK's objects would cost more CPU than the rest)."""
        query: dict[str, Any] = {
            "completed_only": True,
            "expand_tasks": True,
            "job_id": job.job_id,
            "limit": RUNS_PAGE_SIZE,
            "start_time_from": since_ms,
        }
        out: list[DbxJobRun] = []
        while True:
            page = self.w.api_client.do("GET", "/api/2.2/jobs/runs/list", query=query, headers=self.headers())
            for raw in (page or {}).get("runs") or []:
                if isinstance(raw, dict) and raw.get("run_id") is not None:
                    out.append(run_record_from_json(raw, job.job_id))
            token = (page or {}).get("next_page_token")
            if not token:
                return out
            query["page_token"] = token

    def headers(self, *, body: bool = False) -> dict[str, str]:
        """The headers databricks-sdk sends with its own calls of the same endpoints."""
        headers = {"Accept": "application/json"}
        if body:
            headers["Content-Type"] = "application/json"
        workspace_id = getattr(self.w.config, "workspace_id", None)
        if workspace_id:
            headers["X-Databricks-Workspace-Id"] = str(workspace_id)
        return headers

    def map_in_family(self, family: str, fn: Callable[[Any], Any], items: list[Any], workers: int) -> list[Any]:
        """`[fn(i) for i in items]`, on up to `workers` threads, results in order.

        The first error ends the map (and the family); items not yet started are not read.
        """
        if len(items) <= 1 or workers <= 1:
            return [fn(i) for i in items]
        with ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="mlgov-dbx") as pool:
            futures = [pool.submit(self.in_family(family, functools.partial(fn, i))) for i in items]
            try:
                return [f.result() for f in futures]
            except BaseException:
                for f in futures:
                    f.cancel()
                raise

    # --- repos -------------------------------------------------------------------------------

    def read_repos(self) -> list[DbxRepo]:
        """`GET /api/2.0/repos`, every page."""
        out = []
        for r in self.w.repos.list():
            if r.id is None:
                continue
            rid = self.oid("repos", r.id)
            url = r.url
            if url:
                # A Git URL with a token in it is a literal credential like any other.
                self.scan_value(rid, r.path or str(r.id), "databricks.repo", "url", "url", url)
                url = strip_credentials(url)
            out.append(
                DbxRepo(
                    resource_id=rid,
                    repo_id=int(r.id),
                    path=r.path,
                    url=url,
                    provider=r.provider,
                    branch=r.branch,
                )
            )
        return out

    # --- experiments -------------------------------------------------------------------------

    def read_experiments(self) -> list[DbxExperiment]:
        """Active experiments, every page; then which of those not updated lately had a run since.

        An experiment whose `last_update_time` is within `ctx.activity_horizon_days` (the
        horizon) is active whatever its runs say: it costs no run lookup and its
        `latest_run_at` stays None. For the others, runs started since the horizon are
        searched in batches of `RUN_SEARCH_BATCH` experiments (`recent_runs`), never one
        search per experiment: each gets the newest such run, or, when none was found,
        `runs_checked_since` = the horizon ("no run since", the exact latest run unknown).
        """
        from databricks.sdk.service.ml import ViewType

        # Counted from the snapshot's time, which policies take as "now": a workspace read an hour
        # into the audit must not search less far back than EXP-002 looks.
        start = self.ctx.collection_started_at or datetime.now(UTC)
        horizon = (start - timedelta(days=self.ctx.activity_horizon_days)).replace(microsecond=0)
        records: list[DbxExperiment] = []
        candidates: list[str] = []
        found = self.w.experiments.search_experiments(view_type=ViewType.ACTIVE_ONLY, max_results=SEARCH_PAGE_SIZE)
        for e in found:  # each page is turned into records as it arrives
            if not e.experiment_id:
                continue
            updated = ms_to_datetime(e.last_update_time)
            if updated is None or updated < horizon:
                candidates.append(e.experiment_id)
            records.append(
                DbxExperiment(
                    resource_id=self.oid("experiments", e.experiment_id),
                    experiment_id=e.experiment_id,
                    name=e.name or e.experiment_id,
                    lifecycle_stage=e.lifecycle_stage,
                    created_at=ms_to_datetime(e.creation_time),
                    last_update_at=updated,
                    latest_run_at=None,
                )
            )
        if not candidates:
            return records
        latest = self.recent_runs(candidates, int(horizon.timestamp() * 1000))
        checked = set(candidates)
        return [
            replace(r, latest_run_at=latest.get(r.experiment_id), runs_checked_since=horizon)
            if r.experiment_id in checked
            else r
            for r in records
        ]

    def recent_runs(self, experiment_ids: list[str], since_ms: int) -> dict[str, datetime]:
        """The newest run (its start, or end if later) since `since_ms` of each experiment that has one.

        `POST /api/2.0/mlflow/runs/search` with up to `RUN_SEARCH_BATCH` experiment ids,
        `filter: attributes.start_time >= since`, newest first, `RUN_SEARCH_PAGE_SIZE` runs a
        page. Only one page per query is read: when a page is full, the experiments it showed
        are known to be active and the query is asked again for the others only, so an
        experiment with thousands of recent runs costs one extra search, not a page per
        thousand runs. Batches run at most `concurrency.mlflow_search` at a time. The raw
        JSON is read (three fields per run); no SDK object is kept.
        """
        batches = [experiment_ids[i : i + RUN_SEARCH_BATCH] for i in range(0, len(experiment_ids), RUN_SEARCH_BATCH)]
        flt = f"attributes.start_time >= {since_ms}"

        def one_batch(batch: list[str]) -> dict[str, int]:
            newest: dict[str, int] = {}
            pending = list(batch)
            while pending:
                body = {
                    "experiment_ids": pending,
                    "filter": flt,
                    "max_results": RUN_SEARCH_PAGE_SIZE,
                    "order_by": ["attributes.start_time DESC"],
                }
                headers = self.headers(body=True)
                page = self.w.api_client.do("POST", "/api/2.0/mlflow/runs/search", body=body, headers=headers)
                for run in (page or {}).get("runs") or []:
                    info = run.get("info") if isinstance(run, dict) else None
                    if not isinstance(info, dict) or not info.get("experiment_id"):
                        continue
                    eid = str(info["experiment_id"])
                    when = max(int(info.get("start_time") or 0), int(info.get("end_time") or 0))
                    newest[eid] = max(newest.get(eid, 0), when)
                if not (page or {}).get("next_page_token"):
                    break
                pending = [e for e in pending if e not in newest]
            return newest

        limit = self.ctx.config.collection.concurrency.mlflow_search
        out: dict[str, datetime] = {}
        for newest in self.map_in_family("experiments", one_batch, batches, limit):
            for eid, when in newest.items():
                moment = ms_to_datetime(when)
                if moment is not None:
                    out[eid] = moment
        return out

    # --- tokens ------------------------------------------------------------------------------

    def read_tokens(self) -> list[DbxToken]:
        """`GET /api/2.0/token-management/tokens` (workspace admins only); no paging."""
        out = []
        for t in self.w.token_management.list():
            if not t.token_id:
                continue
            out.append(
                DbxToken(
                    resource_id=self.oid("tokens", t.token_id),
                    token_id=t.token_id,
                    created_by=t.created_by_username,
                    comment=t.comment,
                    created_at=ms_to_datetime(t.creation_time),
                    # expiry_time missing or <= 0 means the token never expires.
                    expires_at=ms_to_datetime(t.expiry_time),
                    last_used_at=ms_to_datetime(t.last_used_day),
                )
            )
        return out

    # --- sightings ---------------------------------------------------------------------------

    def scan_map(self, rid: str, name: str, kind: str, location: str, values: Mapping[str, str] | None) -> None:
        for key, value in (values or {}).items():
            self.scan_value(rid, name, kind, location, key, value)

    def scan_value(self, rid: str, name: str, kind: str, location: str, key: str, value: object) -> None:
        """Record a SecretSighting and/or a UriSighting for one value; never keeps the value."""
        if not isinstance(value, str):
            return
        sink: _Sink = self._local.sink
        facts = classify(key, value)
        if facts is not None:
            sink.secrets.append(
                SecretSighting(
                    resource_id=rid,
                    resource_name=name,
                    resource_kind=kind,
                    location=location,
                    key=key,
                    token=facts,
                )
            )
        parsed = parse_azureml_uri(value)
        if parsed is not None:
            sink.uris.append(
                UriSighting(
                    resource_id=rid,
                    resource_name=name,
                    resource_kind=kind,
                    location=location,
                    key=key,
                    uri=strip_credentials(value.strip()),
                    workspace_id=parsed[0],
                )
            )


class _RunsReader:
    """Lists the runs of jobs on all-purpose clusters as the jobs are found, on a thread pool.

    Runs are only needed to price CMP-001 (tasks on all-purpose clusters), so only jobs with at
    least one task whose compute is `existing_cluster` are read: a job that runs entirely on
    job clusters or serverless costs no run request at all. Up to `concurrency.databricks` jobs
    are listed at once (the `databricks` limiter and the workspace's pacer still bound the
    requests), over `collection.runs_window_days` counted from the collection's start.
    """

    def __init__(self, reader: _WorkspaceReader) -> None:
        self._reader = reader
        ctx = reader.ctx
        window = ctx.config.collection.runs_window_days
        since = (ctx.collection_started_at or datetime.now(UTC)) - timedelta(days=window)
        self._since_ms = int(since.timestamp() * 1000)
        self._pool: ThreadPoolExecutor | None = None
        self._workers = ctx.config.collection.concurrency.databricks
        self._futures: list[Future[list[DbxJobRun]]] = []

    def submit(self, job: DbxJob) -> None:
        """Start listing the job's runs if CMP-001 needs them."""
        if not any(t.compute == "existing_cluster" for t in job.tasks):
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="mlgov-dbx-runs")
        work = self._reader.in_family("runs", functools.partial(self._reader.job_runs, job, self._since_ms))
        self._futures.append(self._pool.submit(work))

    def results(self) -> list[DbxJobRun]:
        """Every run listed, in job order; the first error raised by a listing is raised here."""
        out: list[DbxJobRun] = []
        for future in self._futures:
            out.extend(future.result())
        return out

    def abandon(self) -> None:
        """Cancel what has not started and wait for what has (idempotent)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class _Scanner:
    """Scans the configuration values of one object (a job) for credentials and AML URIs."""

    def __init__(self, reader: _WorkspaceReader, rid: str, name: str, kind: str) -> None:
        self._r, self._rid, self._name, self._kind = reader, rid, name, kind

    def value(self, location: str, key: str, value: object) -> None:
        self._r.scan_value(self._rid, self._name, self._kind, location, key, value)

    def mapping(self, location: str, values: Mapping[str, str] | None) -> None:
        for key, value in (values or {}).items():
            self.value(location, key, value)

    def sequence(self, location: str, name: str, values: Iterable[str] | None) -> None:
        for i, value in enumerate(values or []):
            self.value(location, f"{name}[{i}]", value)

    def cluster_spec(self, where: str, spec: Any) -> None:
        self.mapping(f"{where}.spark_env_vars", spec.spark_env_vars)
        self.mapping(f"{where}.spark_conf", spec.spark_conf)

    def task_parameters(self, where: str, t: Any) -> None:
        if t.notebook_task is not None:
            self.mapping(f"{where}.notebook_task.base_parameters", t.notebook_task.base_parameters)
        if t.spark_python_task is not None:
            self.sequence(f"{where}.spark_python_task", "parameters", t.spark_python_task.parameters)
        if t.python_wheel_task is not None:
            self.mapping(f"{where}.python_wheel_task.named_parameters", t.python_wheel_task.named_parameters)
            self.sequence(f"{where}.python_wheel_task", "parameters", t.python_wheel_task.parameters)
        if t.spark_submit_task is not None:
            self.sequence(f"{where}.spark_submit_task", "parameters", t.spark_submit_task.parameters)
        if t.sql_task is not None:
            self.mapping(f"{where}.sql_task.parameters", t.sql_task.parameters)


# ---------------------------------------------------------------------------------------------
# Conversions (pure functions of SDK objects)


def ms_to_datetime(value: int | None) -> datetime | None:
    """Epoch milliseconds as an aware UTC datetime; None for missing, zero or negative values."""
    if value is None or value <= 0:
        return None
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def _enum(value: Any) -> str | None:
    """An SDK enum's wire value. The SDK parses values it does not know as None."""
    return None if value is None else str(getattr(value, "value", value))


def cluster_size(spec: Any) -> ClusterSize:
    """Size and pricing facts of a `ClusterDetails` or `ClusterSpec`."""
    az = spec.azure_attributes
    auto = spec.autoscale
    return ClusterSize(
        node_type_id=spec.node_type_id,
        driver_node_type_id=spec.driver_node_type_id or spec.node_type_id,
        # With autoscale, `num_workers` is the current target, not the configured size.
        num_workers=None if auto is not None else spec.num_workers,
        autoscale_min=auto.min_workers if auto is not None else None,
        autoscale_max=auto.max_workers if auto is not None else None,
        availability=_enum(az.availability) if az is not None else None,
        first_on_demand=az.first_on_demand if az is not None else None,
        spark_version=spec.spark_version,
        policy_id=spec.policy_id,
    )


def task_kind(t: Any) -> str:
    """What a task runs: `notebook`, `spark_python`, ... or `other`."""
    for attr, kind in _TASK_KINDS:
        if getattr(t, attr, None) is not None:
            return kind
    return "other"


def task_compute(t: Any, kind: str) -> str:
    """Where a task runs: `existing_cluster`, `job_cluster`, `new_cluster`, `serverless` or `none`."""
    if t.existing_cluster_id:
        return "existing_cluster"
    if t.job_cluster_key:
        return "job_cluster"
    if t.new_cluster is not None:
        return "new_cluster"
    if t.environment_key:
        return "serverless"
    if kind == "notebook" and t.notebook_task is not None and t.notebook_task.warehouse_id:
        return "none"  # a SQL notebook on a SQL warehouse
    if kind in _SERVERLESS_CAPABLE:
        return "serverless"
    return "none"


def task_path(t: Any) -> tuple[str | None, str | None]:
    """(notebook path or Python file, `GIT`/`WORKSPACE` source) of a task that runs one."""
    if t.notebook_task is not None:
        return t.notebook_task.notebook_path or None, _enum(t.notebook_task.source)
    if t.spark_python_task is not None:
        return t.spark_python_task.python_file or None, _enum(t.spark_python_task.source)
    return None, None


def is_scheduled(s: Any) -> bool:
    """An unpaused cron schedule, trigger (file arrival, periodic, table update) or continuous run."""
    if s is None:
        return False
    for part in (s.schedule, s.trigger, s.continuous):
        if part is not None and _enum(part.pause_status) != "PAUSED":
            return True
    return False


def is_bundle_managed(s: Any) -> bool:
    """True when a Databricks Asset Bundle deployed the job (`settings.deployment.kind`)."""
    return s is not None and s.deployment is not None and _enum(s.deployment.kind) == "BUNDLE"


def _json_duration(obj: Mapping[str, Any]) -> int:
    """`run_duration`, else setup + execution + cleanup, else end - start (all ms) of a run or task."""
    if obj.get("run_duration"):
        return int(obj["run_duration"])
    total = sum(int(obj.get(k) or 0) for k in ("setup_duration", "execution_duration", "cleanup_duration"))
    if total:
        return total
    start, end = obj.get("start_time"), obj.get("end_time")
    if start and end and end > start:
        return int(end - start)
    return 0


def run_record_from_json(r: Mapping[str, Any], job_id: int) -> DbxJobRun:
    """A completed run (the JSON of jobs/runs/list) with, per task, the cluster it ran on and for how long."""
    tasks = []
    for t in r.get("tasks") or []:
        if not isinstance(t, dict):
            continue
        instance = t.get("cluster_instance") if isinstance(t.get("cluster_instance"), dict) else {}
        cluster = instance.get("cluster_id") if instance else None
        tasks.append(
            DbxTaskRun(
                task_key=str(t.get("task_key") or ""),
                cluster_id=cluster or t.get("existing_cluster_id"),
                duration_ms=_json_duration(t),
            )
        )
    return DbxJobRun(
        run_id=int(r["run_id"]),
        job_id=int(r.get("job_id") or job_id),
        start_time=ms_to_datetime(r.get("start_time")),
        duration_ms=_json_duration(r),
        tasks=tuple(tasks),
    )


# ---------------------------------------------------------------------------------------------
# Failures


_HINTS: Mapping[tuple[str, int], str] = {
    (
        "tokens",
        403,
    ): "Token management needs workspace admin; grant the audit principal admin or disable IAM-002.",
    ("tokens", 404): "Token management is not available on this workspace (it needs the Premium tier); "
    "disable IAM-002 for it.",
    (
        "repos",
        403,
    ): "The audit principal cannot list Git folders; give it workspace access or disable GIT-003.",
    ("repos", 400): "Git folders (repos) look disabled on this workspace; enable them or disable GIT-003.",
    ("experiments", 403): "The audit principal cannot search MLflow experiments; give it CAN_READ on them "
    "or disable EXP-002.",
    (
        "clusters",
        403,
    ): "The audit principal cannot list clusters; add it to the workspace with workspace access.",
    ("jobs", 403): "The audit principal cannot list jobs; add it to the workspace with workspace access.",
    ("runs", 403): "The audit principal cannot list job runs; grant it CAN_VIEW on the jobs.",
}


def failure_status(scope_id: str, family: str, exc: BaseException, *, calls: int = 0) -> ScopeStatus:
    """A failed ScopeStatus for one family, with HTTP status, error code and a hint."""
    from databricks.sdk.errors.base import DatabricksError
    from requests import RequestException

    from mlgov.errors import CollectionError

    if isinstance(exc, CollectionError):  # the collection deadline passed
        return ScopeStatus(
            scope_id=scope_id,
            scope_kind=SCOPE_KIND,
            family=family,
            ok=False,
            error=_short(exc.message),
            status=exc.status,
            code=exc.code,
            hint=exc.hint,
            calls=calls,
        )
    cause = exc
    prefix = ""
    if isinstance(exc, TimeoutError):
        prefix = "gave up after retrying until the deadline: "
        if exc.__cause__ is not None:
            cause = exc.__cause__
    status = http_status(cause) if isinstance(cause, DatabricksError) else None
    code = getattr(cause, "error_code", None) if isinstance(cause, DatabricksError) else None
    if isinstance(exc, TimeoutError) and isinstance(cause, RequestException):
        hint = (
            "The workspace could not be reached until the retry deadline: check the host, private "
            "endpoints, firewall and proxy settings."
        )
    elif isinstance(exc, TimeoutError):
        hint = (
            "The workspace kept throttling or failing until the retry deadline "
            "(collection.retry_timeout_seconds); try again later or raise the deadline."
        )
    elif isinstance(exc, RequestException):
        hint = "The request failed on the network: check the host name, private endpoints, firewall and proxy."
    elif status == 401:
        hint = (
            "The workspace refused the credential: check the token, or that the Entra identity is a "
            "user of this workspace."
        )
    elif status is not None and (family, status) in _HINTS:
        hint = _HINTS[(family, status)]
    elif code == "FEATURE_DISABLED":
        hint = f"The {family} API is disabled on this workspace; disable the policies that read it."
    elif status == 403:
        hint = f"The audit principal may not read {family}; grant it read access or disable the policies that need it."
    elif isinstance(exc, ValueError | KeyError | TypeError):
        hint = (
            "The API answered something the SDK could not parse; "
            "report it together with the workspace's region and tier."
        )
    else:
        hint = "See the error; the other families of this workspace were still read."
    text = _first_line(cause)
    # The SDK appends its config (host, auth type...) to 401/403 messages; the scope id says as much.
    text = text.split(". Config: ", 1)[0]
    return ScopeStatus(
        scope_id=scope_id,
        scope_kind=SCOPE_KIND,
        family=family,
        ok=False,
        error=_short(prefix + (text if code else f"{type(cause).__name__}: {text}")),
        status=status,
        code=code,
        hint=hint,
        calls=calls,
    )


def http_status(err: BaseException) -> int | None:
    """The HTTP status an SDK error class stands for (the SDK does not keep the number)."""
    from databricks.sdk.errors import platform

    for status, cls in platform.STATUS_CODE_MAPPING.items():
        if isinstance(err, cls):
            return int(status)
    return None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _short(text: str) -> str:
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"


__all__ = ["FAMILIES", "collect_workspace", "failure_status", "ms_to_datetime"]
