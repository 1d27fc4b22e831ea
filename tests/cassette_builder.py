"""Writes the Databricks cassettes (tests and the `--demo` workspace) from readable Python.

The response bodies follow the shapes databricks-sdk 0.156 requests (Clusters API 2.1,
Jobs API 2.2, Repos, MLflow search, token management), seeded from the official fixtures in
`reference/api-examples/databricks-workspace/` and the SDK model field names. Secrets and times
are placeholders (`<<jwt:...>>`, `<<pat:...>>`, `<<ms:...>>`) that `mlgov.replay` expands when a
cassette is loaded, so no committed file holds a credential and the dates stay relative to today.

Run `python tests/cassette_builder.py` from the repository root after changing it;
`tests/collectors/test_databricks.py` checks that the committed files are up to date.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CASSETTE_DIR = ROOT / "cassettes" / "databricks"
DEMO_CASSETTE = ROOT / "src" / "mlgov" / "demo" / "databricks.yaml"

AZURE_DATABRICKS_AUD = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d"
ARM_AUD = "https://management.azure.com"
_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests"}
_NUMBER_PLACEHOLDER = re.compile(r'"(<<(?:ms|s):[^<>"]*>>)"')


# ---------------------------------------------------------------------------------------------
# Placeholders


def ms(offset: str) -> str:
    """Epoch milliseconds `offset` from the moment the cassette is loaded (a JSON number)."""
    return f"<<ms:{offset}>>"


def jwt(exp: str, aud: str = AZURE_DATABRICKS_AUD, **claims: str) -> str:
    """A fake JWT expiring at `exp` (e.g. `-30d`)."""
    extra = "".join(f";{k}={v}" for k, v in claims.items())
    return f"<<jwt:exp={exp};aud={aud}{extra}>>"


def pat(seed: str) -> str:
    """A fake Databricks PAT derived from `seed`."""
    return f"<<pat:{seed}>>"


def minutes(n: float) -> int:
    """Milliseconds in `n` minutes."""
    return int(n * 60_000)


# ---------------------------------------------------------------------------------------------
# Interactions


@dataclass
class Cassette:
    """The interactions of one cassette file, in the order a collection makes them."""

    host: str
    interactions: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self,
        method: str,
        path: str,
        body: Any,
        *,
        status: int = 200,
        query: str = "",
        request_body: Any = None,
        headers: dict[str, list[str]] | None = None,
    ) -> Cassette:
        """Append one request and its response."""
        uri = f"https://{self.host}{path}" + (f"?{query}" if query else "")
        reason = _REASONS.get(status, "")
        text = body if isinstance(body, str) else _json(body)
        resp_headers = {"Content-Type": ["application/json"], **(headers or {})}
        self.interactions.append(
            {
                "request": {
                    "method": method,
                    "uri": uri,
                    "body": None if request_body is None else _json(request_body),
                    "headers": {},
                },
                "response": {
                    "status": {"code": status, "message": reason},
                    "headers": resp_headers,
                    "body": {"string": text},
                },
            }
        )
        return self

    # The calls databricks-sdk 0.156 makes, by family -------------------------------------------

    def probe(self, workspace_id: str | None = None) -> Cassette:
        """`Config()`'s host-metadata probe: a 200 naming the workspace, or a 404 (older hosts)."""
        if workspace_id is None:
            return self.add("GET", "/.well-known/databricks-config", {"error_code": "NOT_FOUND"}, status=404)
        return self.add("GET", "/.well-known/databricks-config", {"workspace_id": workspace_id, "cloud": "azure"})

    def clusters(
        self, *pages: list[dict[str, Any]], pinned: Iterable[str] = (), pinned_unsupported: bool = False
    ) -> Cassette:
        """`GET /api/2.1/clusters/list`, one response per page, then the pinned-cluster filter
        (which a workspace may refuse with 400)."""
        for i, page in enumerate(pages):
            body: dict[str, Any] = {"clusters": page} if page else {}
            if i + 1 < len(pages):
                body["next_page_token"] = f"clusters-p{i + 2}"
            self.add("GET", "/api/2.1/clusters/list", body, query=f"page_token=clusters-p{i + 1}" if i else "")
        if pinned_unsupported:
            refusal = {"error_code": "INVALID_PARAMETER_VALUE", "message": "Unknown field filter_by"}
            return self.add("GET", "/api/2.1/clusters/list", refusal, status=400, query="filter_by.is_pinned=True")
        ids = [{"cluster_id": c} for c in pinned]
        self.add("GET", "/api/2.1/clusters/list", {"clusters": ids} if ids else {}, query="filter_by.is_pinned=True")
        return self

    def jobs(self, *pages: list[dict[str, Any]]) -> Cassette:
        """`GET /api/2.2/jobs/list?expand_tasks=true&limit=100`, one response per page."""
        for i, page in enumerate(pages):
            body: dict[str, Any] = {"jobs": page} if page else {}
            if i + 1 < len(pages):
                body["next_page_token"] = f"jobs-p{i + 2}"
                body["has_more"] = True
            query = "expand_tasks=true&limit=100" + (f"&page_token=jobs-p{i + 1}" if i else "")
            self.add("GET", "/api/2.2/jobs/list", body, query=query)
        return self

    def job_get(self, job_id: int, *pages: dict[str, Any]) -> Cassette:
        """`GET /api/2.2/jobs/get?job_id=N`, every page (what `JobsExt` reads for `has_more` jobs)."""
        for i, page in enumerate(pages):
            body = dict(page)
            if i + 1 < len(pages):
                body["next_page_token"] = f"job{job_id}-p{i + 2}"
            query = f"job_id={job_id}" + (f"&page_token=job{job_id}-p{i + 1}" if i else "")
            self.add("GET", "/api/2.2/jobs/get", body, query=query)
        return self

    def runs(self, job_id: int, *pages: list[dict[str, Any]]) -> Cassette:
        """`GET /api/2.2/jobs/runs/list` for one job, completed runs in the window, every page."""
        for i, page in enumerate(pages):
            body: dict[str, Any] = {"runs": page} if page else {}
            if i + 1 < len(pages):
                body["next_page_token"] = f"runs{job_id}-p{i + 2}"
                body["has_more"] = True
            query = f"completed_only=true&expand_tasks=true&job_id={job_id}&limit=25&start_time_from={ms('-30d')}"
            if i:
                query += f"&page_token=runs{job_id}-p{i + 1}"
            self.add("GET", "/api/2.2/jobs/runs/list", body, query=query)
        return self

    def repos(self, *pages: list[dict[str, Any]]) -> Cassette:
        """`GET /api/2.0/repos`, every page."""
        for i, page in enumerate(pages):
            body: dict[str, Any] = {"repos": page} if page else {}
            if i + 1 < len(pages):
                body["next_page_token"] = f"repos-p{i + 2}"
            self.add("GET", "/api/2.0/repos", body, query=f"next_page_token=repos-p{i + 1}" if i else "")
        return self

    def experiments(self, *pages: list[dict[str, Any]]) -> Cassette:
        """`POST /api/2.0/mlflow/experiments/search` (active only), every page."""
        for i, page in enumerate(pages):
            body: dict[str, Any] = {"experiments": page} if page else {}
            if i + 1 < len(pages):
                body["next_page_token"] = f"exp-p{i + 2}"
            request = {"max_results": 3000, "view_type": "ACTIVE_ONLY"}
            if i:
                request["page_token"] = f"exp-p{i + 1}"
            self.add("POST", "/api/2.0/mlflow/experiments/search", body, request_body=request)
        return self

    def recent_runs(
        self, experiment_ids: list[str], runs: list[dict[str, Any]], *, since: str = "-90d", more: bool = False
    ) -> Cassette:
        """`POST /api/2.0/mlflow/runs/search`: runs started since `since` in a batch of experiments,
        newest first (one page; `more` says the page was full and a next one exists)."""
        request = {
            "experiment_ids": experiment_ids,
            "filter": f"attributes.start_time >= {ms(since)}",
            "max_results": 1000,
            "order_by": ["attributes.start_time DESC"],
        }
        body: dict[str, Any] = {"runs": runs} if runs else {}
        if more:
            body["next_page_token"] = "runs-more"
        return self.add("POST", "/api/2.0/mlflow/runs/search", body, request_body=request)

    def tokens(self, tokens: list[dict[str, Any]] | None, *, status: int = 200) -> Cassette:
        """`GET /api/2.0/token-management/tokens`: the list, or a 403 for a non-admin principal."""
        if status == 403:
            body: dict[str, Any] = {
                "error_code": "PERMISSION_DENIED",
                "message": "Only Admins can access token management APIs.",
            }
        else:
            body = {"token_infos": tokens} if tokens else {}
        return self.add("GET", "/api/2.0/token-management/tokens", body, status=status)

    def render(self) -> str:
        """The cassette as vcrpy YAML (placeholders left in place)."""
        text = yaml.safe_dump(
            {"interactions": self.interactions, "version": 1},
            sort_keys=False,
            width=1_000_000,
            allow_unicode=True,
        )
        return (
            "# Generated by tests/cassette_builder.py: edit that file and re-run it, not this one.\n" + text
        )


def _json(body: Any) -> str:
    """Compact JSON with `<<ms:...>>` placeholders as bare numbers."""
    return _NUMBER_PLACEHOLDER.sub(r"\1", json.dumps(body, separators=(",", ":")))


# ---------------------------------------------------------------------------------------------
# Payload helpers (shapes from the terraform-provider-databricks fixtures, Jobs 2.2 multi-task)


def cluster(
    cluster_id: str,
    name: str,
    *,
    source: str | None = "UI",
    state: str = "RUNNING",
    autotermination: int | None = 120,
    node: str = "Standard_DS3_v2",
    workers: int | None = 2,
    autoscale: tuple[int, int] | None = None,
    availability: str | None = "ON_DEMAND_AZURE",
    creator: str = "someone@contoso.com",
    env: dict[str, str] | None = None,
    conf: dict[str, str] | None = None,
    policy_id: str | None = None,
    spark_version: str = "15.4.x-scala2.12",
    started: str = "-3d",
) -> dict[str, Any]:
    """A `ClusterDetails` as clusters/list returns it."""
    c: dict[str, Any] = {
        "cluster_id": cluster_id,
        "cluster_name": name,
        "spark_version": spark_version,
        "node_type_id": node,
        "driver_node_type_id": node,
        "state": state,
        "state_message": "",
        "creator_user_name": creator,
        "start_time": ms(started),
        "enable_elastic_disk": True,
        "data_security_mode": "USER_ISOLATION",
        "default_tags": {"Vendor": "Databricks", "Creator": creator, "ClusterName": name, "ClusterId": cluster_id},
    }
    if source is not None:
        c["cluster_source"] = source
    if autotermination is not None:
        c["autotermination_minutes"] = autotermination
    if autoscale is not None:
        c["autoscale"] = {"min_workers": autoscale[0], "max_workers": autoscale[1]}
        c["num_workers"] = autoscale[0]
    elif workers is not None:
        c["num_workers"] = workers
    if availability is not None:
        c["azure_attributes"] = {"availability": availability, "first_on_demand": 1, "spot_bid_max_price": -1}
    if env:
        c["spark_env_vars"] = env
    if conf:
        c["spark_conf"] = conf
    if policy_id:
        c["policy_id"] = policy_id
    if state == "TERMINATED":
        c["terminated_time"] = ms("-1d")
    return c


def new_cluster(
    *,
    node: str = "Standard_D4ds_v5",
    workers: int | None = 2,
    autoscale: tuple[int, int] | None = None,
    availability: str | None = "SPOT_WITH_FALLBACK_AZURE",
    env: dict[str, str] | None = None,
    conf: dict[str, str] | None = None,
    policy_id: str | None = None,
) -> dict[str, Any]:
    """A `ClusterSpec` for a job cluster or a task's own cluster."""
    c: dict[str, Any] = {"spark_version": "15.4.x-scala2.12", "node_type_id": node}
    if autoscale is not None:
        c["autoscale"] = {"min_workers": autoscale[0], "max_workers": autoscale[1]}
    elif workers is not None:
        c["num_workers"] = workers
    if availability is not None:
        c["azure_attributes"] = {"availability": availability, "first_on_demand": 1, "spot_bid_max_price": -1}
    if env:
        c["spark_env_vars"] = env
    if conf:
        c["spark_conf"] = conf
    if policy_id:
        c["policy_id"] = policy_id
    return c


def notebook(path: str, source: str | None = None, params: dict[str, str] | None = None) -> dict[str, Any]:
    """A `notebook_task`."""
    t: dict[str, Any] = {"notebook_path": path}
    if source:
        t["source"] = source
    if params:
        t["base_parameters"] = params
    return t


def job(
    job_id: int,
    name: str,
    tasks: list[dict[str, Any]],
    *,
    creator: str = "someone@contoso.com",
    created: str = "-200d",
    **settings: Any,
) -> dict[str, Any]:
    """A `BaseJob` as jobs/list?expand_tasks=true returns it."""
    body: dict[str, Any] = {"name": name, "max_concurrent_runs": 1, "timeout_seconds": 0, "format": "MULTI_TASK"}
    body.update(settings)
    body["tasks"] = tasks
    return {"job_id": job_id, "creator_user_name": creator, "created_time": ms(created), "settings": body}


def schedule(cron: str, paused: bool = False) -> dict[str, Any]:
    """A `CronSchedule`."""
    return {"quartz_cron_expression": cron, "timezone_id": "Europe/Amsterdam",
            "pause_status": "PAUSED" if paused else "UNPAUSED"}


def github(repo: str, branch: str = "main") -> dict[str, Any]:
    """A `GitSource` on GitHub."""
    return {"git_url": f"https://github.com/{repo}", "git_provider": "gitHub", "git_branch": branch}


def run(
    run_id: int,
    job_id: int,
    start: str,
    task_minutes: dict[str, tuple[float, str | None]],
    *,
    legacy_durations: bool = False,
) -> dict[str, Any]:
    """A completed `BaseRun` with per-task cluster and duration (`{task: (minutes, cluster)}`)."""
    tasks = []
    total = 0
    for key, (mins, cluster_id) in task_minutes.items():
        d = minutes(mins)
        total += d
        t: dict[str, Any] = {
            "task_key": key,
            "run_id": run_id * 10 + len(tasks) + 1,
            "start_time": ms(start),
            "state": {"life_cycle_state": "TERMINATED", "result_state": "SUCCESS"},
        }
        if cluster_id:
            t["existing_cluster_id"] = cluster_id
            t["cluster_instance"] = {"cluster_id": cluster_id, "spark_context_id": "4711"}
        if legacy_durations:
            t.update(setup_duration=minutes(1), execution_duration=d - minutes(1), cleanup_duration=0)
        else:
            t["run_duration"] = d
        tasks.append(t)
    body: dict[str, Any] = {
        "job_id": job_id,
        "run_id": run_id,
        "number_in_job": run_id,
        "run_type": "JOB_RUN",
        "start_time": ms(start),
        "state": {"life_cycle_state": "TERMINATED", "result_state": "SUCCESS"},
        "status": {"state": "TERMINATED", "termination_details": {"code": "SUCCESS", "type": "SUCCESS"}},
        "trigger": "PERIODIC",
        "tasks": tasks,
    }
    if legacy_durations:
        body.update(setup_duration=minutes(1), execution_duration=total - minutes(1), cleanup_duration=0)
    else:
        body["run_duration"] = total
    return body


def experiment(exp_id: str, name: str, *, created: str, updated: str | None) -> dict[str, Any]:
    """An MLflow `Experiment`."""
    e: dict[str, Any] = {
        "experiment_id": exp_id,
        "name": name,
        "artifact_location": f"dbfs:/databricks/mlflow-tracking/{exp_id}",
        "lifecycle_stage": "active",
        "creation_time": ms(created),
    }
    if updated is not None:
        e["last_update_time"] = ms(updated)
    return e


def mlflow_run(exp_id: str, run_id: str, start: str, end: str | None = None) -> dict[str, Any]:
    """An MLflow `Run` with only its info."""
    info: dict[str, Any] = {
        "run_id": run_id,
        "run_uuid": run_id,
        "experiment_id": exp_id,
        "status": "FINISHED",
        "start_time": ms(start),
        "lifecycle_stage": "active",
        "user_id": "someone@contoso.com",
    }
    if end:
        info["end_time"] = ms(end)
    return {"info": info, "data": {}}


def token(
    token_id: str, user: str, comment: str, *, created: str, expires: str | None, used: str | None = None
) -> dict[str, Any]:
    """A `TokenInfo` from token management (`expires=None` writes -1: never expires)."""
    user_id = int(hashlib.sha256(user.encode()).hexdigest()[:12], 16)
    t: dict[str, Any] = {
        "token_id": token_id,
        "created_by_username": user,
        "created_by_id": user_id,
        "owner_id": user_id,
        "comment": comment,
        "creation_time": ms(created),
        "expiry_time": ms(expires) if expires else -1,
    }
    if used:
        t["last_used_day"] = ms(used)
    return t


# ---------------------------------------------------------------------------------------------
# Test cassettes


TEST_HOST = "adb-1111111111111111.11.azuredatabricks.net"
AML_URI = (
    "azureml://westeurope.api.azureml.ms/mlflow/v1.0/subscriptions/00000000-0000-0000-0000-000000000001"
    "/resourceGroups/rg-ml/providers/Microsoft.MachineLearningServices/workspaces/mlw-one"
)


def full_workspace() -> Cassette:
    """Every family with several pages, a job with more than 100 tasks, secrets in every place."""
    c = Cassette(TEST_HOST).probe("1111111111111111")
    c.clusters(
        [
            cluster(
                "0101-000000-etl1", "etl-interactive", autotermination=0, policy_id="POL1",
                env={
                    "MLFLOW_TRACKING_TOKEN": jwt("-30d"),
                    "STORAGE_KEY": "{{secrets/kv/storage-key}}",
                    "PYSPARK_PYTHON": "/databricks/python3/bin/python3",
                },
            ),
            cluster(
                "0101-000000-ds2", "ds-autoscale", source="API", state="TERMINATED", autotermination=60,
                autoscale=(1, 4), availability="SPOT_WITH_FALLBACK_AZURE",
                conf={
                    "spark.hadoop.fs.azure.account.key.acct.dfs.core.windows.net": "{{secrets/kv/acct-key}}",
                    "spark.mlflow.trackingUri": AML_URI,
                },
            ),
        ],
        [
            cluster(
                "0101-000000-job3", "job-12-run-1", source="JOB", state="TERMINATED", autotermination=0,
                conf={"spark.databricks.service.token": jwt("+365d", ARM_AUD)},
            ),
        ],
        pinned=["0101-000000-etl1"],
    )
    nightly = job(
        11, "nightly-etl",
        [
            {"task_key": "ingest", "job_cluster_key": "etl",
             "notebook_task": notebook("ingest/main", "GIT", {"token": "{{secrets/etl/token}}"})},
            {"task_key": "train", "environment_key": "serverless-env",
             "spark_python_task": {"python_file": "train.py", "source": "GIT", "parameters": ["--token", jwt("-2d")]}},
            {"task_key": "wheel", "existing_cluster_id": "0101-000000-etl1",
             "python_wheel_task": {"package_name": "etl", "entry_point": "main",
                                   "named_parameters": {"password": "plaintext-pass-123"},
                                   "parameters": [pat("wheel-param")]}},
            {"task_key": "submit",
             "new_cluster": new_cluster(availability="SPOT_AZURE", env={"AZURE_CLIENT_SECRET": "Zx8Q~notreal.secret"}),
             "spark_submit_task": {"parameters": ["--conf", "spark.x=1", pat("submit-param")]}},
            {"task_key": "gate", "condition_task": {"op": "EQUAL_TO", "left": "1", "right": "1"}},
            {"task_key": "trigger_other", "run_job_task": {"job_id": 12}},
            {"task_key": "loop",
             "for_each_task": {"inputs": "[1,2]", "task": {
                 "task_key": "loop_iter", "existing_cluster_id": "0101-000000-ds2",
                 "notebook_task": notebook("/Workspace/Users/a@contoso.com/loop", "WORKSPACE",
                                           {"MLFLOW_TRACKING_TOKEN": jwt("-1d")})}}},
        ],
        git_source=github("contoso/etl"),
        schedule=schedule("0 0 2 * * ?"),
        deployment={"kind": "BUNDLE", "metadata_file_path": "/Workspace/bundles/etl/metadata.json"},
        job_clusters=[{"job_cluster_key": "etl", "new_cluster": new_cluster(
            availability="ON_DEMAND_AZURE",
            env={"DATABRICKS_TOKEN": pat("job-cluster-env")},
            conf={"spark.hadoop.fs.azure.account.oauth2.client.secret": "{{secrets/etl/sp}}"})}],
        parameters=[{"name": "api_token", "default": pat("job-param")}, {"name": "run_date", "default": "2024-01-01"}],
        environment_variables=[{
            "environment_variables_key": "default",
            "spec": {"variables": {"SERVICE_PASSWORD": "hunter2-very-secret", "LOG_LEVEL": "INFO"}}}],
        environments=[{"environment_key": "serverless-env", "spec": {
            "environment_version": "2",
            "dependencies": ["pandas==2.2.2", f"git+https://build:{pat('dep-url')}@dev.azure.com/contoso/lib/_git/lib"]}}],
    )
    adhoc = job(
        12, "adhoc-report",
        [{"task_key": "report", "job_cluster_key": "small",
          "notebook_task": notebook("/Workspace/Users/x@contoso.com/report", "WORKSPACE")}],
        job_clusters=[{"job_cluster_key": "small", "new_cluster": new_cluster(workers=1)}],
        trigger={"pause_status": "PAUSED", "file_arrival": {"url": "abfss://in@acct.dfs.core.windows.net/drop/"}},
    )
    big_tasks = [{"task_key": f"t{i:03d}", "job_cluster_key": "pool",
                  "notebook_task": notebook(f"fanout/step_{i:03d}", "GIT")} for i in range(130)]
    big_tasks[129] = {"task_key": "t129", "existing_cluster_id": "0101-000000-etl1",
                      "notebook_task": notebook("fanout/final", "GIT", {"DB_PASSWORD": "s3cr3t-in-page-two"})}
    pool = {"job_cluster_key": "pool", "new_cluster": new_cluster(autoscale=(2, 10))}
    pool2 = {"job_cluster_key": "pool2", "new_cluster": new_cluster(availability="ON_DEMAND_AZURE")}
    big_settings = {"git_source": github("contoso/fanout"), "schedule": schedule("0 0 * * * ?")}
    big_listed = job(13, "big-fanout", big_tasks[:100], job_clusters=[pool], **big_settings)
    big_listed["has_more"] = True
    serverless = job(
        14, "serverless-notebook",
        [{"task_key": "nb", "notebook_task": notebook("/Workspace/Shared/refresh")}],
        continuous={"pause_status": "UNPAUSED"},
    )
    c.jobs([nightly, adhoc], [big_listed, serverless])
    page1 = job(13, "big-fanout", big_tasks[:100], job_clusters=[pool], **big_settings)
    page2 = {"job_id": 13, "settings": {"tasks": big_tasks[100:], "job_clusters": [pool2]}}
    c.job_get(13, page1, page2)
    c.runs(
        11,
        [run(1101, 11, "-1d", {"wheel": (42, "0101-000000-etl1"), "loop": (10, "0101-000000-ds2")}),
         run(1102, 11, "-2d", {"wheel": (38, "0101-000000-etl1")}, legacy_durations=True)],
        [run(1103, 11, "-3d", {"wheel": (40, None)})],
    )
    c.runs(13, [run(1301, 13, "-4d", {"t129": (15, "0101-000000-etl1")})])
    c.repos(
        [{"id": 1, "path": "/Repos/a@contoso.com/etl", "url": "https://github.com/contoso/etl.git",
          "provider": "gitHub", "branch": "main", "head_commit_id": "7e0847ede61f07adede22e2bcce6050216489171"}],
        [{"id": 2, "path": "/Repos/x@contoso.com/ml",
          "url": f"https://build:{pat('repo-url')}@dev.azure.com/contoso/ml/_git/ml", "provider": "azureDevOpsServices",
          "branch": "dev"}],
    )
    c.experiments(
        [experiment("100", "/Users/a@contoso.com/active", created="-300d", updated="-3d"),
         experiment("101", "/Users/a@contoso.com/stale", created="-400d", updated="-200d")],
        [experiment("102", "/Users/b@contoso.com/old-but-used", created="-300d", updated="-120d"),
         experiment("103", "/Shared/never-run", created="-500d", updated=None)],
    )
    # 101, 102 and 103 were not updated within 90 days: one search for runs since then, newest
    # first. The first page is full (it has a next page), so the others are asked about again.
    c.recent_runs(["101", "102", "103"],
                  [mlflow_run("102", "r102b", "-11d", "-10d"), mlflow_run("102", "r102a", "-40d", "-40d")], more=True)
    c.recent_runs(["101", "103"], [])
    c.tokens([
        token("t-never", "svc@contoso.com", "ADF", created="-300d", expires=None, used="-1d"),
        token("t-year", "a@contoso.com", "VS Code", created="-10d", expires="+355d"),
        token("t-short", "b@contoso.com", "CI", created="-5d", expires="+25d"),
        {"token_id": "t-bare", "comment": "no expiry field at all"},
    ])
    return c


def throttled() -> Cassette:
    """clusters/list answers 429 with Retry-After, then the page; the rest is empty."""
    c = Cassette(TEST_HOST).probe("1111111111111111")
    c.add("GET", "/api/2.1/clusters/list",
          {"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "Rate limit exceeded for clusters/list"},
          status=429, headers={"Retry-After": ["7"]})
    c.clusters([cluster("0202-000000-a", "after-retry")])
    return c.jobs([]).repos([]).experiments([]).tokens([])


def retry_deadline() -> Cassette:
    """clusters/list answers 429 longer than the retry deadline; the other families answer."""
    c = Cassette(TEST_HOST).probe("1111111111111111")
    c.add("GET", "/api/2.1/clusters/list",
          {"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "Rate limit exceeded"},
          status=429, headers={"Retry-After": ["60"]})
    c.jobs([job(1, "j", [{"task_key": "a", "job_cluster_key": "x", "notebook_task": notebook("/Repos/a/b")}])])
    return c.repos([]).experiments([]).tokens([])


def tokens_forbidden() -> Cassette:
    """Token management answers 403; every other family has something in it."""
    c = Cassette(TEST_HOST).probe("1111111111111111")
    c.clusters([cluster("0303-000000-a", "shared", autotermination=30)])
    c.jobs([job(5, "etl", [{"task_key": "a", "existing_cluster_id": "0303-000000-a",
                            "notebook_task": notebook("/Workspace/Users/a@contoso.com/etl")}])])
    c.runs(5, [run(501, 5, "-1d", {"a": (30, "0303-000000-a")})])
    c.repos([{"id": 9, "path": "/Repos/a@contoso.com/etl", "url": "https://github.com/contoso/etl.git",
              "provider": "gitHub", "branch": "main"}])
    c.experiments([experiment("7", "/Shared/churn", created="-30d", updated="-1d")])
    return c.tokens(None, status=403)


def jobs_forbidden() -> Cassette:
    """jobs/list answers 403, so no run can be read; the other families answer."""
    c = Cassette(TEST_HOST).probe("1111111111111111")
    c.clusters([cluster("0404-000000-a", "shared", autotermination=30)])
    c.add("GET", "/api/2.2/jobs/list",
          {"error_code": "PERMISSION_DENIED", "message": "User is not authorized to list jobs."},
          status=403, query="expand_tasks=true&limit=100")
    return c.repos([]).experiments([]).tokens([])


def empty_workspace() -> Cassette:
    """A brand-new workspace: every list is empty (the API leaves the arrays out).

    Its host-metadata probe answers 404, as on hosts that predate the endpoint.
    """
    return Cassette(TEST_HOST).probe().clusters([]).jobs([]).repos([]).experiments([]).tokens([])


def sparse_fields() -> Cassette:
    """Objects with only their ids, enum values this SDK version does not know, and a workspace
    that refuses the pinned-cluster filter."""
    c = Cassette(TEST_HOST).probe("1111111111111111")
    c.clusters([
        {"cluster_id": "bare"},
        {"cluster_id": "odd", "cluster_name": "odd", "cluster_source": "SERVERLESS_FUTURE", "state": "HIBERNATING",
         "azure_attributes": {"availability": "SPOT_FLEX_AZURE"}, "spark_env_vars": {"X_TOKEN": ""}},
        {"cluster_name": "no id at all"},
    ], pinned_unsupported=True)
    c.jobs([
        {"job_id": 1},
        {"job_id": 2, "settings": {
            "tasks": [{"task_key": "a", "notebook_task": {"notebook_path": "/x", "source": "LAKEFS"}},
                      {"task_key": "b", "new_cluster": {"spark_version": "15.4.x-scala2.12"},
                       "spark_jar_task": {"main_class_name": "Main"}},
                      {"task_key": "c"}],
            "schedule": {"quartz_cron_expression": "0 0 * * * ?", "timezone_id": "UTC", "pause_status": "SNOOZED"},
            "deployment": {"kind": "TERRAFORM"},
            "job_clusters": [{"job_cluster_key": "serverless-only"}],
            "git_source": {"git_provider": "someNewProvider", "git_url": "https://example.com/repo.git"}}},
        {"settings": {"name": "no job id"}},
    ])
    c.repos([{"id": 5}, {"path": "/Repos/no-id"}])
    c.experiments([{"experiment_id": "9"}, {"name": "no id"}])
    c.recent_runs(["9"], [{"info": {"run_id": "r"}}])
    return c.tokens([{"token_id": "t"}, {"comment": "no id"}])


# ---------------------------------------------------------------------------------------------
# The demo: a retail analytics team's production workspace and its sandbox

PROD_HOST = "adb-5555555555555555.15.azuredatabricks.net"
SANDBOX_HOST = "adb-6666666666666666.16.azuredatabricks.net"
LEGACY_AML_URI = (
    "azureml://westeurope.api.azureml.ms/mlflow/v1.0/subscriptions/00000000-0000-0000-0000-00000000c0de"
    "/resourceGroups/rg-retail-ml/providers/Microsoft.MachineLearningServices/workspaces/mlw-retail-legacy"
)
DEMO_TENANT = "00000000-0000-0000-0000-00000000c0de"
MARIA = "maria.garcia@contoso.com"
TOM = "tom.becker@contoso.com"
LI = "li.wei@contoso.com"
SVC = "svc-retail-etl@contoso.com"
MERCH_CLUSTER = "0412-093015-merch4x"
SHARED_CLUSTER = "0301-081122-shared"

# Completed runs of store-replenishment-forecast on the all-purpose cluster: (days ago, prep, train).
_REPLENISHMENT_RUNS = [
    (1, 12, 51), (2, 14, 62), (3, 11, 38), (4, 13, 55), (5, 15, 71), (6, 12, 44), (7, 16, 69),
    (8, 13, 58), (9, 12, 47), (10, 14, 66), (11, 15, 74), (12, 11, 35), (14, 13, 52), (15, 12, 49),
    (16, 14, 60), (18, 13, 57), (20, 12, 43), (22, 15, 64), (24, 13, 54), (26, 14, 61),
]


def demo_prod(c: Cassette) -> Cassette:
    """contoso-analytics-prod: every Databricks policy fires, beside compliant objects and near misses."""
    c.probe("5555555555555555")
    c.clusters(
        [
            # CST-001 (auto-termination off) and MLF-001 (expired Databricks-audience JWT in env).
            cluster(SHARED_CLUSTER, "shared-analytics", autotermination=0, node="Standard_DS3_v2",
                    autoscale=(2, 8), creator=MARIA, started="-41d",
                    env={"MLFLOW_TRACKING_URI": "databricks",
                         "MLFLOW_TRACKING_TOKEN": jwt("-30d", tid=DEMO_TENANT),
                         "PYSPARK_PYTHON": "/databricks/python3/bin/python3"}),
            # CST-001 (480 minutes) and the all-purpose cluster CMP-001's job runs on; its Spark
            # conf uses a secret reference (compliant) for the storage service principal.
            cluster(MERCH_CLUSTER, "merch-forecasting-interactive", autotermination=480, node="Standard_DS4_v2",
                    workers=4, creator=MARIA, started="-6d",
                    conf={"spark.hadoop.fs.azure.account.oauth2.client.secret.stretaildata.dfs.core.windows.net":
                          "{{secrets/retail-kv/sp-storage-secret}}",
                          "spark.databricks.delta.preview.enabled": "true"}),
            # MLF-002: a still-valid ARM token pasted into Spark conf; also an azureml:// tracking URI.
            cluster("0509-140227-pricing", "pricing-data-science", autotermination=90, node="Standard_E8ds_v5",
                    workers=2, availability="SPOT_WITH_FALLBACK_AZURE", creator=LI, state="TERMINATED",
                    conf={"spark.mlflow.trackingUri": LEGACY_AML_URI,
                          "spark.mlflow.azureml.accessToken": jwt("+365d", ARM_AUD, tid=DEMO_TENANT)}),
        ],
        [
            # Near misses for CST-001: 60 and exactly 120 minutes.
            cluster("0611-120000-mlgpu", "ml-team-gpu", autotermination=60, node="Standard_NC6s_v3", workers=1,
                    availability="SPOT_WITH_FALLBACK_AZURE", creator=LI, state="TERMINATED"),
            cluster("0702-073344-bi", "bi-adhoc", autotermination=120, node="Standard_DS3_v2", workers=2, creator=TOM,
                    policy_id="E06216CAA0000360"),
            # A job cluster from a run: never all-purpose, whatever its auto-termination says.
            cluster("1122-020000-job701", "job-701-run-88120", source="JOB", state="TERMINATED", autotermination=0,
                    node="Standard_D8ds_v5", autoscale=(2, 8), availability="SPOT_WITH_FALLBACK_AZURE", creator=SVC,
                    started="-1d"),
        ],
        pinned=[SHARED_CLUSTER, MERCH_CLUSTER],
    )
    sales_etl = job(
        701, "daily-sales-etl",
        [
            {"task_key": "ingest_pos", "job_cluster_key": "etl",
             "notebook_task": notebook("pipelines/ingest_pos", "GIT",
                                       {"storage_key": "{{secrets/retail-etl/storage-key}}"})},
            {"task_key": "build_sales_mart", "job_cluster_key": "etl", "depends_on": [{"task_key": "ingest_pos"}],
             "notebook_task": notebook("pipelines/build_sales_mart", "GIT")},
        ],
        creator=SVC, created="-400d",
        git_source=github("contoso-retail/sales-pipelines"),
        schedule=schedule("0 30 4 * * ?"),
        deployment={"kind": "BUNDLE", "metadata_file_path": "/Workspace/Shared/.bundle/sales/prod/state/metadata.json"},
        job_clusters=[{"job_cluster_key": "etl", "new_cluster": new_cluster(
            node="Standard_D8ds_v5", autoscale=(2, 8), availability="SPOT_WITH_FALLBACK_AZURE",
            env={"STORAGE_ACCOUNT": "stretaildata"})}],
        parameters=[{"name": "run_date", "default": "{{job.start_time.iso_date}}"}],
    )
    replenishment = job(
        702, "store-replenishment-forecast",
        [
            # CMP-001 (on the all-purpose cluster) and GIT-001 (notebooks under a user folder, no git_source).
            {"task_key": "prepare_features", "existing_cluster_id": MERCH_CLUSTER,
             "notebook_task": notebook(f"/Workspace/Users/{MARIA}/replenishment/prepare_features", "WORKSPACE",
                                       {"horizon_weeks": "6"})},
            # MLF-001: an expired token passed as a task parameter.
            {"task_key": "train_forecast", "existing_cluster_id": MERCH_CLUSTER,
             "depends_on": [{"task_key": "prepare_features"}],
             "notebook_task": notebook(f"/Workspace/Users/{MARIA}/replenishment/train_forecast", "WORKSPACE",
                                       {"mlflow_tracking_token": jwt("-12d"), "experiment":
                                        f"/Users/{MARIA}/replenishment-forecast"})},
        ],
        creator=MARIA, created="-180d",
        schedule=schedule("0 0 5 * * ?"),
        email_notifications={"on_failure": [MARIA]},
    )
    churn = job(
        703, "customer-churn-scoring",
        [
            {"task_key": "score", "job_cluster_key": "scoring",
             "python_wheel_task": {"package_name": "churn_model", "entry_point": "score",
                                   "named_parameters": {"model_uri": "models:/churn/Production",
                                                        "sql_password": "{{secrets/retail-kv/sql-password}}"}}},
        ],
        creator=LI, created="-250d",
        git_source=github("contoso-retail/churn-model"),
        schedule=schedule("0 0 6 ? * MON"),
        # CST-004 (on-demand job cluster) and MLF-002 (a PAT literal in its environment).
        job_clusters=[{"job_cluster_key": "scoring", "new_cluster": new_cluster(
            node="Standard_D16ds_v5", workers=6, availability="ON_DEMAND_AZURE",
            env={"DATABRICKS_HOST": f"https://{PROD_HOST}", "DATABRICKS_TOKEN": pat("contoso-churn-scoring")})}],
    )
    promo = job(
        704, "promo-uplift-report",
        [
            # Compliant: Git-backed Python file on a spot task cluster.
            {"task_key": "uplift", "new_cluster": new_cluster(node="Standard_D4ds_v5", workers=2,
                                                              availability="SPOT_AZURE"),
             "spark_python_task": {"python_file": "jobs/uplift.py", "source": "GIT",
                                   "parameters": ["--weeks", "8"]}},
        ],
        creator=TOM, created="-90d",
        git_source=github("contoso-retail/promo-analytics"),
        schedule=schedule("0 0 7 ? * TUE"),
    )
    inventory = job(
        705, "weekly-inventory-snapshot",
        [
            # Near miss for GIT-001: the notebook lives in a Git folder (/Repos), on serverless.
            {"task_key": "snapshot", "environment_key": "default",
             "notebook_task": notebook(f"/Repos/{LI}/inventory-tools/snapshot", "WORKSPACE")},
        ],
        creator=LI, created="-60d",
        schedule=schedule("0 0 3 ? * SUN"),
        environments=[{"environment_key": "default", "spec": {"environment_version": "2",
                                                              "dependencies": ["great-expectations==0.18.19"]}}],
    )
    quality = job(
        706, "data-quality-alerts",
        [
            {"task_key": "check_freshness", "sql_task": {"warehouse_id": "4b9b953939869799",
                                                         "query": {"query_id": "0b5f7c3e-quality"}}},
            {"task_key": "stale", "depends_on": [{"task_key": "check_freshness"}],
             "condition_task": {"op": "GREATER_THAN", "left": "{{tasks.check_freshness.values.hours}}", "right": "6"}},
            {"task_key": "rerun_etl", "depends_on": [{"task_key": "stale", "outcome": "true"}],
             "run_job_task": {"job_id": 701}},
        ],
        creator=TOM, created="-120d",
        schedule=schedule("0 0 * * * ?", paused=True),
    )
    c.jobs([sales_etl, replenishment, churn], [promo, inventory, quality])
    pages: list[list[dict[str, Any]]] = [[], []]
    for i, (days, prep, train) in enumerate(_REPLENISHMENT_RUNS):
        run_id = 880_100 + len(_REPLENISHMENT_RUNS) - i
        pages[0 if i < 12 else 1].append(
            run(run_id, 702, f"-{days * 24 - 5}h",
                {"prepare_features": (prep, MERCH_CLUSTER), "train_forecast": (train, MERCH_CLUSTER)}))
    c.runs(702, *pages)
    c.repos(
        [{"id": 2213804110355123, "path": f"/Repos/{LI}/inventory-tools",
          "url": "https://github.com/contoso-retail/inventory-tools.git", "provider": "gitHub", "branch": "main",
          "head_commit_id": "3f1c2b9a8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a"},
         {"id": 2213804110355987, "path": f"/Repos/{MARIA}/replenishment",
          "url": "https://dev.azure.com/contoso/retail/_git/replenishment", "provider": "azureDevOpsServices",
          "branch": "feature/forecast-v2", "head_commit_id": "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"}],
        [{"id": 2213804110356001, "path": "/Repos/Shared/sales-pipelines",
          "url": "https://github.com/contoso-retail/sales-pipelines.git", "provider": "gitHub", "branch": "main",
          "head_commit_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6"}],
    )
    c.experiments(
        [experiment("3519288415342211", f"/Users/{MARIA}/replenishment-forecast", created="-170d", updated="-1d"),
         experiment("3519288415342290", "/Shared/churn-model", created="-240d", updated="-6d"),
         # EXP-002: no update for 210 days, no run in the last 90 days (its last one is 200 days old).
         experiment("3519288415343004", f"/Users/{TOM}/promo-uplift-poc", created="-260d", updated="-210d")],
        [# Near miss: metadata untouched for 150 days but a run 20 days ago.
         experiment("3519288415343117", f"/Users/{LI}/basket-analysis-scratch", created="-300d", updated="-150d"),
         # EXP-002: an empty experiment nobody touched for over a year.
         experiment("3519288415343250", f"/Users/{TOM}/test", created="-420d", updated="-400d")],
    )
    # The three not updated within 90 days: only the scratch experiment had a run since.
    c.recent_runs(["3519288415343004", "3519288415343117", "3519288415343250"],
                  [mlflow_run("3519288415343117", "8e7d6c5b4a3928171615141312111000", "-20d", "-20d")])
    c.tokens([
        # IAM-002: never expires.
        token("6b1e3c52d0a4f7e8b9c0d1e2f3a4b5c6", SVC, "Azure Data Factory linked service", created="-420d",
              expires=None, used="-1d"),
        # IAM-002: a 365-day token.
        token("8c2f4d63e1b5a8f9c0d1e2f3a4b5c6d7", MARIA, "VS Code", created="-14d", expires="+351d", used="-1d"),
        # Compliant: 60 days, and exactly 90 days (near miss).
        token("9d3a5e74f2c6b9a0d1e2f3a4b5c6d7e8", LI, "notebook CI", created="-5d", expires="+55d", used="-2d"),
        token("ae4b6f85a3d7c0b1e2f3a4b5c6d7e8f9", TOM, "Power BI refresh", created="-80d", expires="+10d",
              used="-3d"),
    ])
    return c


def demo_sandbox(c: Cassette) -> Cassette:
    """contoso-sandbox: a few clusters, no Git folder (GIT-003), token management refused (AUD-001)."""
    c.probe("6666666666666666")
    c.clusters([
        cluster("0915-101010-alice", "sandbox-alice", autotermination=30, node="Standard_DS3_v2", workers=1,
                availability="SPOT_WITH_FALLBACK_AZURE", creator="alice.martin@contoso.com", state="TERMINATED"),
        cluster("0915-111111-hack", "hackathon-shared", autotermination=240, node="Standard_DS3_v2",
                autoscale=(1, 4), creator=TOM, started="-2d"),
        cluster("0915-121212-li", "li-scratch", autotermination=45, node="Standard_E4ds_v5", workers=0,
                availability="SPOT_WITH_FALLBACK_AZURE", creator=LI, state="TERMINATED"),
    ])
    c.jobs([])
    c.repos([])
    c.experiments([experiment("4100000000000001", f"/Users/{LI}/sandbox-exploration", created="-20d",
                              updated="-2d")])
    return c.tokens(None, status=403)


def demo() -> Cassette:
    """Both demo workspaces in one cassette (their hosts differ, so the order across them is free)."""
    c = demo_prod(Cassette(PROD_HOST))
    sandbox = demo_sandbox(Cassette(SANDBOX_HOST))
    c.interactions.extend(sandbox.interactions)
    return c


TEST_CASSETTES = {
    "workspace_full.yaml": full_workspace,
    "throttled.yaml": throttled,
    "retry_deadline.yaml": retry_deadline,
    "tokens_forbidden.yaml": tokens_forbidden,
    "jobs_forbidden.yaml": jobs_forbidden,
    "empty_workspace.yaml": empty_workspace,
    "sparse_fields.yaml": sparse_fields,
}


def outputs() -> dict[Path, str]:
    """Every file this builder writes, with its content."""
    files = {CASSETTE_DIR / name: build().render() for name, build in TEST_CASSETTES.items()}
    files[DEMO_CASSETTE] = demo().render()
    return files


def main(argv: list[str]) -> int:
    """Write (or with `--check`, compare) every cassette."""
    check = "--check" in argv
    stale = []
    for path, text in outputs().items():
        if check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    for path in stale:
        print(f"out of date: {path.relative_to(ROOT)}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
