"""The benchmark emulator: paging, throttling and minimum-page counts on the `small` tenant."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from benchmarks.emulator import Emulator, Limits, RateLimit
from benchmarks.tenant import Tenant

from benchmarks import tenant as T

NOW_MS = 1_790_000_000_000
BEARER = {"Authorization": "Bearer not-a-real-token-just-for-the-emulator"}


class StaticCredential:
    """An azure-core TokenCredential that never calls anything."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken("not-a-real-token", int(time.time()) + 3600)

    def close(self) -> None:
        return None


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    tenant = Tenant("small", seed=7, now_ms=NOW_MS)
    with pytest.MonkeyPatch.context() as mp, Emulator(tenant, limits=Limits.unlimited()) as server:
        mp.setenv("REQUESTS_CA_BUNDLE", server.ca_file)
        mp.setenv("SSL_CERT_FILE", server.ca_file)
        yield server


def _get(url: str, **kw: Any) -> requests.Response:
    return requests.get(url, headers=BEARER, timeout=30, **kw)


def _calls(emu: Emulator, route: str) -> int:
    return emu.stats.snapshot()["routes"].get(route, {}).get("calls", 0)


def test_arm_next_link_pages_every_job_once(emu: Emulator) -> None:
    """Following ARM nextLinks yields every AML job exactly once, one page per 100 jobs."""
    emu.reset()
    t = emu.tenant
    seen: list[str] = []
    for w in t.aml:
        url: str | None = f"{emu.arm_url}{w.id}/jobs?api-version=2024-01-01-preview&listViewType=All"
        while url:
            body = _get(url).json()
            seen.extend(j["id"] for j in body["value"])
            url = body.get("nextLink")
    assert len(seen) == len(set(seen)) == sum(w.n_jobs for w in t.aml)
    assert _calls(emu, T.R_AML_JOBS) == sum(math.ceil(w.n_jobs / 100) for w in t.aml)
    assert _calls(emu, T.R_AML_JOBS) == t.minimum_pages()[T.R_AML_JOBS]


def test_arm_default_view_hides_archived_jobs(emu: Emulator) -> None:
    """Without listViewType the jobs list shows only active jobs, as ARM does."""
    w = max(emu.tenant.aml, key=lambda x: x.n_jobs)
    url: str | None = f"{emu.arm_url}{w.id}/jobs?api-version=2025-09-01"
    jobs = []
    while url:
        body = _get(url).json()
        jobs.extend(body["value"])
        url = body.get("nextLink")
    assert jobs and not any(j["properties"]["isArchived"] for j in jobs)
    assert len(jobs) == len(emu.tenant.aml_job_positions(w, "ActiveOnly")) < w.n_jobs


def test_arm_sdk_follows_next_link(emu: Emulator) -> None:
    """azure-mgmt-resource's pipeline reads the paged role assignments and resources of the tenant."""
    from azure.core.rest import HttpRequest
    from azure.mgmt.resource.resources import ResourceManagementClient

    t = emu.tenant
    sub = t.subscriptions[0].subscription_id
    client = ResourceManagementClient(
        StaticCredential(), sub, base_url=emu.arm_url, credential_scopes=[emu.arm_url + "/.default"]
    )
    flt = "resourceType eq 'Microsoft.MachineLearningServices/workspaces'"
    names = sorted(r.name for r in client.resources.list(filter=flt))
    assert names == sorted(w.name for w in t.aml if w.sub == sub)
    w = t.aml[0]
    url: str | None = f"{w.id}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01"
    got = []
    while url:
        r = client.send_request(HttpRequest("GET", url))
        r.raise_for_status()
        got.extend(r.json()["value"])
        url = r.json().get("nextLink")
    assert {a["id"] for a in got} == {ra.id for ra in t.assignments_for_scope(w.id)}


def test_databricks_page_token_reads_every_job_and_task(emu: Emulator) -> None:
    """databricks-sdk follows page_token through jobs/list, and jobs/get pages the tasks of big jobs."""
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.core import Config

    from mlgov.replay import fake_pat

    emu.reset()
    t = emu.tenant
    for d in t.dbx:
        w = WorkspaceClient(config=Config(host=d.host, token=fake_pat("bench"), retry_timeout_seconds=5))
        jobs = list(w.jobs.list(expand_tasks=True, limit=100))
        assert len({j.job_id for j in jobs}) == d.n_jobs
        big = {t.dbx_job_id(d, j) for j in d.big_jobs}
        for job in jobs:
            if job.job_id in big:
                assert len(job.settings.tasks) == t.preset.big_job_tasks
    mins = t.minimum_pages()
    assert _calls(emu, T.R_JOBS) == mins[T.R_JOBS] == sum(math.ceil(d.n_jobs / 100) for d in t.dbx)
    assert _calls(emu, T.R_JOB_GET) == mins[T.R_JOB_GET]


def test_databricks_runs_window_pages_at_25(emu: Emulator) -> None:
    """runs/list with start_time_from returns only the window's runs, 25 per page, newest first."""
    emu.reset()
    t = emu.tenant
    start = t.window_start_ms(30)
    total = 0
    for d in t.dbx:
        token = None
        starts: list[int] = []
        while True:
            params = {"limit": 25, "start_time_from": start, "completed_only": "true"}
            if token:
                params["page_token"] = token
            body = _get(f"{d.host}/api/2.2/jobs/runs/list", params=params).json()
            starts.extend(r["start_time"] for r in body.get("runs", []))
            token = body.get("next_page_token")
            if not token:
                assert body["has_more"] is False
                break
        assert starts == sorted(starts, reverse=True) and min(starts) >= start
        expected = sum(1 for s in t.run_index(d).starts if s >= start)
        assert len(starts) == expected
        total += expected
    whole = sum(t.runs_pages(d)[0] for d in t.dbx)
    assert (
        _calls(emu, T.R_RUNS)
        == whole
        == sum(math.ceil(sum(1 for s in t.run_index(d).starts if s >= start) / 25) for d in t.dbx)
    )
    assert total < sum(d.n_runs for d in t.dbx)  # older runs exist and were filtered out


def test_databricks_limits_above_the_api_maximum_are_refused(emu: Emulator) -> None:
    """A runs/list limit above 25 or a jobs/list limit above 100 is a 400, as the real API answers."""
    d = emu.tenant.dbx[0]
    r = _get(f"{d.host}/api/2.2/jobs/runs/list", params={"limit": 26})
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert _get(f"{d.host}/api/2.2/jobs/list", params={"limit": 101}).status_code == 400


def test_minimum_pages_match_tenant_sizes() -> None:
    """minimum_pages is ceil(items / page size) per list, computed from the tenant's own sizes."""
    t = Tenant("small", seed=3, now_ms=NOW_MS)
    m = t.minimum_pages()
    start = t.window_start_ms(30)
    assert m[T.R_SUBS] == 1
    assert m[T.R_AML_JOBS] == sum(math.ceil(w.n_jobs / 100) for w in t.aml)
    assert m[T.R_AML_COMPUTES] == len(t.aml)
    assert m[T.R_CLUSTERS] == sum(math.ceil(d.n_clusters / 100) for d in t.dbx)
    assert m[T.R_JOBS] == sum(math.ceil(d.n_jobs / 100) for d in t.dbx)
    whole = [math.ceil(sum(1 for s in t.run_index(d).starts if s >= start) / 25) for d in t.dbx]
    per_job = [
        sum(
            max(1, math.ceil(len(t.runs_positions(d, job_id=t.dbx_job_id(d, j), start_from=start)) / 25))
            for j in range(d.n_jobs)
            if any("existing_cluster_id" in x for x in t.dbx_job(d, j)["settings"]["tasks"])
        )
        for d in t.dbx
    ]
    assert m[T.R_RUNS] == sum(min(a, b) for a, b in zip(whole, per_job, strict=True))
    active = [sum(1 for x in t.experiment_index(d).deleted if not x) for d in t.dbx]
    assert m[T.R_EXP_SEARCH] == sum(math.ceil(a / 3000) for a in active)
    edge = NOW_MS - 90 * 86_400_000
    stale = [
        sum(
            1
            for i, x in enumerate(t.experiment_index(d).deleted)
            if not x and t.experiment_index(d).last_update[i] < edge
        )
        for d in t.dbx
    ]
    assert m[T.R_RUN_SEARCH] == sum(math.ceil(n / 100) for n in stale) > 0
    assert m[T.R_REPOS] == len(t.dbx)  # an empty list still costs one call
    assert m[T.R_TOKENS] == len(t.dbx)
    assert m[T.R_ACR_GET] == len({w.registry_id for w in t.aml if w.registry_id})
    counts = t.counts()
    assert counts["aml_jobs"] == t.preset.aml_jobs and counts["dbx_runs"] == t.preset.dbx_runs


def test_tenant_is_deterministic() -> None:
    """The same seed and clock give the same objects; another seed gives other ones."""
    a, b, c = (Tenant("small", seed=s, now_ms=NOW_MS) for s in (5, 5, 6))
    assert a.aml_job(a.aml[1], 17) == b.aml_job(b.aml[1], 17)
    assert a.dbx_job(a.dbx[0], 3) == b.dbx_job(b.dbx[0], 3)
    assert a.subscriptions == b.subscriptions != c.subscriptions


def test_throttling_answers_429_with_retry_after() -> None:
    """Past the configured rate, ARM and Databricks answer 429 with an integer Retry-After."""
    limits = Limits(arm=RateLimit(0.5, 1), databricks=RateLimit(0.5, 2), mlflow_search=RateLimit(0.5, 1))
    with Emulator(Tenant("small", seed=1, now_ms=NOW_MS), limits=limits) as emu:
        verify = emu.ca_file
        arm = [
            requests.get(f"{emu.arm_url}/subscriptions?api-version=2022-12-01", headers=BEARER, verify=verify)
            for _ in range(2)
        ]
        assert [r.status_code for r in arm] == [200, 429]
        assert int(arm[1].headers["Retry-After"]) >= 1
        assert arm[1].json()["error"]["code"] == "TooManyRequests"
        host = emu.databricks_hosts[0]
        dbx = [requests.get(f"{host}/api/2.0/repos", headers=BEARER, verify=verify) for _ in range(3)]
        assert [r.status_code for r in dbx] == [200, 200, 429]
        assert int(dbx[2].headers["Retry-After"]) >= 1
        assert dbx[2].json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
        # MLflow search has its own bucket: still allowed once after the REST bucket ran dry.
        body = {"max_results": 10}
        url = f"{host}/api/2.0/mlflow/experiments/search"
        search = [requests.post(url, json=body, headers=BEARER, verify=verify) for _ in range(2)]
        assert [r.status_code for r in search] == [200, 429]
        fams = emu.stats.snapshot()["families"]
        assert fams["arm"]["throttled"] == 1 and fams["databricks"]["throttled"] == 1
        assert fams["mlflow_search"]["throttled"] == 1


def test_unknown_paths_and_writes_are_visible(emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    """An unknown path is a logged 404 and a write is refused; both are counted."""
    emu.reset()
    d = emu.tenant.dbx[0]
    with caplog.at_level(logging.WARNING, logger="benchmarks.emulator"):
        r = _get(f"{d.host}/api/2.1/jobs/list")
        put = requests.put(f"{emu.arm_url}{emu.tenant.aml[0].id}?api-version=2025-09-01", headers=BEARER, timeout=30)
    assert r.status_code == 404 and r.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    assert put.status_code == 405
    snap = emu.stats.snapshot()
    assert snap["unknown"] == {"databricks GET /api/2.1/jobs/list": 1}
    assert sum(snap["writes"].values()) == 1
    assert any("unknown path" in rec.message for rec in caplog.records)


def test_requests_without_a_bearer_token_are_refused(emu: Emulator) -> None:
    """ARM and Databricks answer 401 when no bearer token is sent; the discovery URL needs none."""
    assert requests.get(f"{emu.arm_url}/subscriptions?api-version=2022-12-01", timeout=30).status_code == 401
    assert requests.get(f"{emu.tenant.dbx[0].host}/api/2.0/repos", timeout=30).status_code == 401
    assert requests.get(f"{emu.arm_url}/discovery", timeout=30).json()["api"] == emu.arm_url
