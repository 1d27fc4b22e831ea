"""Checks of the Databricks plane (and the AML parts of the policies they share).

Each check is a pure function of the snapshot: it reads `ctx.snapshot`, `ctx.params`,
`ctx.prices` and `ctx.now`, and never calls an SDK. Policies: MLF-001 and MLF-002 (literal
credentials in configuration), EXP-002 (stale MLflow experiments), GIT-001 and GIT-003 (Git
linkage), CMP-001 (jobs on all-purpose clusters, with the DBU saving), CST-001 (clusters that
never auto-terminate), CST-004 (on-demand job clusters and dedicated AML clusters) and IAM-002
(long-lived personal access tokens).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mlgov.checks import CheckContext, Hit, check
from mlgov.codec import format_time
from mlgov.findings import CostEstimate
from mlgov.inventory import (
    ClusterSize,
    DatabricksWorkspace,
    DbxCluster,
    DbxJob,
    DbxJobRun,
    DbxTask,
    SecretSighting,
    TokenFacts,
)
from mlgov.prices import DAYS_PER_MONTH, PriceBook

_SECRET_SCOPES = {"databricks": ("clusters", "jobs"), "aml": ("jobs",)}
_SPOT = frozenset({"SPOT_AZURE", "SPOT_WITH_FALLBACK_AZURE"})
_MAX_LISTED = 5
# Audiences seen on Entra tokens pasted into configuration, by their usual spelling.
_AUDIENCES = {
    "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d": "Azure Databricks",
    "https://management.azure.com": "Azure Resource Manager",
    "https://management.core.windows.net": "Azure Resource Manager",
    "https://ml.azure.com": "Azure Machine Learning",
    "https://storage.azure.com": "Azure Storage",
    "https://vault.azure.net": "Azure Key Vault",
    "https://graph.microsoft.com": "Microsoft Graph",
    "00000003-0000-0000-c000-000000000000": "Microsoft Graph",
}
_KIND_LABELS = {
    "databricks.cluster": "Cluster",
    "databricks.job": "Job",
    "databricks.run": "Job run",
    "databricks.repo": "Git folder",
    "databricks.workspace": "Workspace",
    "aml.job": "AML job",
    "aml.compute": "AML compute",
    "aml.workspace": "AML workspace",
}


# ---------------------------------------------------------------------------------------------
# MLF-001 / MLF-002: literal credentials in configuration


def _sightings(ctx: CheckContext) -> Iterator[tuple[str, SecretSighting]]:
    for dbx in ctx.snapshot.databricks:
        for s in dbx.secrets:
            yield dbx.resource_id, s
    for aml in ctx.snapshot.aml:
        for s in aml.secrets:
            yield aml.resource_id, s


def is_expired_jwt(token: TokenFacts, now: datetime) -> bool:
    """True for a JWT whose `exp` has passed (RFC 7519: not accepted on or after `exp`)."""
    return token.kind == "jwt" and token.expires_at is not None and token.expires_at <= now


@check("MLF-001", scopes=_SECRET_SCOPES)
def expired_tokens(ctx: CheckContext) -> Iterator[Hit]:
    """Expired JWTs (MLflow / Entra access tokens) stored in cluster, job or AML job settings."""
    for scope_id, s in _sightings(ctx):
        expires_at = s.token.expires_at
        if expires_at is None or not is_expired_jwt(s.token, ctx.now):
            continue
        yield Hit(
            resource_id=s.resource_id,
            resource_kind=s.resource_kind,
            resource_name=s.resource_name,
            scope_id=scope_id,
            sub_key=f"{s.location}:{s.key}",
            message=(
                f"{_label(s.resource_kind)} '{s.resource_name}' holds {_describe_token(s.token)} "
                f"in {s.location} `{s.key}` that expired on {_when(expires_at)}: whatever "
                "reads it can no longer authenticate (MLflow logging fails), and the value is "
                "still readable in plain text"
            ),
            evidence=_token_evidence(s),
        )


@check("MLF-002", scopes=_SECRET_SCOPES)
def literal_credentials(ctx: CheckContext) -> Iterator[Hit]:
    """Every other literal credential: PATs, secrets in URLs, named secrets, JWTs still valid."""
    for scope_id, s in _sightings(ctx):
        if is_expired_jwt(s.token, ctx.now):
            continue  # MLF-001 reports it
        validity = ""
        if s.token.kind == "jwt" and s.token.expires_at is not None:
            validity = f", valid until {_when(s.token.expires_at)}"
        yield Hit(
            resource_id=s.resource_id,
            resource_kind=s.resource_kind,
            resource_name=s.resource_name,
            scope_id=scope_id,
            sub_key=f"{s.location}:{s.key}",
            message=(
                f"{_label(s.resource_kind)} '{s.resource_name}' holds {_describe_token(s.token)} "
                f"in plain text in {s.location} `{s.key}`{validity}; reference a secret scope "
                "or use a managed identity instead"
            ),
            evidence=_token_evidence(s),
        )


def _describe_token(token: TokenFacts) -> str:
    if token.kind == "jwt":
        aud = _audience_name(token.audience)
        return f"an Entra ID access token (JWT{', audience ' + aud if aud else ''})"
    return {
        "databricks_pat": "a Databricks personal access token",
        "github_pat": "a GitHub personal access token",
        "credential_in_url": "a URL with an embedded credential",
        "named_secret": "a literal secret value",
        "bearer": "a bearer token",
    }.get(token.kind, f"a literal credential ({token.kind})")


def _audience_name(audience: str | None) -> str | None:
    if not audience:
        return None
    names = [_AUDIENCES.get(a.strip().rstrip("/").lower(), a.strip()) for a in audience.split(",")]
    return ", ".join(names)


def _token_evidence(s: SecretSighting) -> dict[str, object]:
    """Where the credential is and what it is, never any part of its value."""
    t = s.token
    evidence: dict[str, object] = {"kind": t.kind, "location": s.location, "key": s.key}
    optional: dict[str, object | None] = {
        "audience": t.audience,
        "audience_name": _audience_name(t.audience) if t.audience else None,
        "issuer": t.issuer,
        "tenant_id": t.tenant_id,
        "app_id": t.app_id,
        "issued_at": format_time(t.issued_at) if t.issued_at else None,
        "expires_at": format_time(t.expires_at) if t.expires_at else None,
    }
    evidence.update({k: v for k, v in optional.items() if v is not None})
    return evidence


# ---------------------------------------------------------------------------------------------
# EXP-002: stale Databricks MLflow experiments


@check("EXP-002", scopes={"databricks": ("experiments",)})
def stale_experiments(ctx: CheckContext) -> Iterator[Hit]:
    """Active experiments with no run and no update for `stale_after_days`.

    The collector searches runs only back to a horizon (`runs_checked_since`) for experiments
    not updated since: for those without a run since then the newest run is unknown, and the
    message says "no run since <horizon>". When the horizon is later than this policy's cutoff
    (a snapshot evaluated with a longer `stale_after_days` than it was collected for), a run
    between the two may have gone unseen, so no finding is made rather than a guess.
    """
    days = int(ctx.params["stale_after_days"])
    cutoff = ctx.now - timedelta(days=days)
    for ws in ctx.snapshot.databricks:
        for exp in ws.experiments:
            if exp.lifecycle_stage is not None and exp.lifecycle_stage.lower() != "active":
                continue
            checked_since = exp.runs_checked_since if exp.latest_run_at is None else None
            if checked_since is not None and checked_since > cutoff:
                continue  # runs between the cutoff and the horizon were not looked at
            candidates = [
                (when, what)
                for when, what in (
                    (exp.latest_run_at, "latest run"),
                    (exp.last_update_at, "last update"),
                    (exp.created_at, "creation"),
                )
                if when is not None
            ]
            if not candidates:
                continue  # nothing says how old it is: no finding rather than a guess
            last, what = max(candidates, key=lambda c: c[0])
            if last >= cutoff:
                continue
            idle = (ctx.now - last).days
            if exp.latest_run_at is not None:
                runs = "its latest run"
            elif checked_since is not None:
                runs = f"no run since {_day(checked_since)}; its last change"
            else:
                runs = "it has no run; its last change"
            evidence = {
                "experiment_id": exp.experiment_id,
                "last_activity": format_time(last),
                "last_activity_source": what,
                "idle_days": idle,
                "stale_after_days": days,
                # None: runs were only searched back to `runs_checked_since`, none was found.
                "has_runs": True if exp.latest_run_at is not None else (None if checked_since else False),
                "created_at": format_time(exp.created_at) if exp.created_at else None,
            }
            if checked_since is not None:
                evidence["runs_checked_since"] = format_time(checked_since)
            yield Hit(
                resource_id=exp.resource_id,
                resource_kind="databricks.experiment",
                resource_name=exp.name,
                scope_id=ws.resource_id,
                message=(
                    f"Experiment '{exp.name}' has had no run or update for more than {days} days "
                    f"({runs} dates from {_day(last)})"
                ),
                evidence=evidence,
            )


# ---------------------------------------------------------------------------------------------
# GIT-001 / GIT-003: Git linkage


def _normalise_path(path: str) -> str:
    p = path.strip()
    if p.startswith("/Workspace/"):
        p = p[len("/Workspace") :]
    return p.rstrip("/")


def _in_git_folder(path: str | None, repo_paths: Sequence[str]) -> bool:
    if not path:
        return False
    p = _normalise_path(path)
    if p.startswith("/Repos/"):
        return True
    return any(p == r or p.startswith(r + "/") for r in repo_paths)


def task_is_git_backed(task: DbxTask, job: DbxJob, repo_paths: Sequence[str] = ()) -> bool:
    """True when the task's code comes from Git: the job's `git_source`, or a Git folder path."""
    source = (task.source or "").upper()
    if source == "GIT" or (not source and job.git_url):
        return True
    return _in_git_folder(task.path, repo_paths)


@check("GIT-001", scopes={"databricks": ("jobs",)})
def jobs_not_in_git(ctx: CheckContext) -> Iterator[Hit]:
    """Jobs with notebook or Python-file tasks that run from workspace paths outside Git."""
    exempt_bundles = bool(ctx.params.get("exempt_bundle_jobs", True))
    for ws in ctx.snapshot.databricks:
        repo_paths = [_normalise_path(r.path) for r in ws.repos if r.path]
        for job in ws.jobs:
            if job.bundle_managed and exempt_bundles:
                continue
            offending = [
                t
                for t in job.tasks
                if t.kind in ("notebook", "spark_python") and not task_is_git_backed(t, job, repo_paths)
            ]
            if not offending:
                continue
            listed = [f"{t.path or '(no path)'} (task {t.task_key})" for t in offending[:_MAX_LISTED]]
            more = f" and {len(offending) - _MAX_LISTED} more" if len(offending) > _MAX_LISTED else ""
            yield Hit(
                resource_id=job.resource_id,
                resource_kind="databricks.job",
                resource_name=job.name,
                scope_id=ws.resource_id,
                message=(
                    f"Job '{job.name}' runs {len(offending)} task(s) from workspace paths that are "
                    f"not under Git: {', '.join(listed)}{more}"
                ),
                evidence={
                    "job_id": job.job_id,
                    "git_source": job.git_url,
                    "scheduled": job.scheduled,
                    "bundle_managed": job.bundle_managed,
                    "tasks": [
                        {"task_key": t.task_key, "kind": t.kind, "path": t.path, "source": t.source} for t in offending
                    ],
                },
            )


@check("GIT-003", scopes={"databricks": ("repos",)})
def workspaces_without_git(ctx: CheckContext) -> Iterator[Hit]:
    """Workspaces where the repos listing found no Git folder at all."""
    for ws in ctx.snapshot.databricks:
        if ws.repos:
            continue
        git_jobs = sum(1 for j in ws.jobs if j.git_url)
        yield Hit(
            resource_id=ws.resource_id,
            resource_kind="databricks.workspace",
            resource_name=ws.name,
            scope_id=ws.resource_id,
            message=(
                f"Workspace '{ws.name}' has no Git folder (repo): notebooks developed there are "
                "not linked to any Git repository"
            ),
            evidence={
                "host": ws.host,
                "repos": 0,
                "jobs_with_git_source": git_jobs,
                "note": (
                    "The repos API does not list Git folders that have the Git CLI enabled; "
                    "jobs with a git_source check out code from Git without a Git folder."
                ),
            },
        )


# ---------------------------------------------------------------------------------------------
# CMP-001: job tasks on all-purpose clusters, priced


@dataclass(frozen=True, slots=True)
class _Usage:
    runs: int
    task_runs: int
    hours_by_cluster: dict[str, float]


@check("CMP-001", scopes={"databricks": ("jobs", "clusters", "runs")})
def jobs_on_all_purpose_clusters(ctx: CheckContext) -> Iterator[Hit]:
    """One finding per job whose tasks run on all-purpose clusters (`existing_cluster_id`).

    One per job, not per task: the fix is one change to the job's settings (`jobs reset`),
    the saving is a property of the job's runs, and the finding keeps its identity when tasks
    are renamed or added.
    """
    for ws in ctx.snapshot.databricks:
        clusters = {c.cluster_id: c for c in ws.clusters}
        runs_by_job: dict[int, list[DbxJobRun]] = defaultdict(list)
        for run in ws.runs:
            runs_by_job[run.job_id].append(run)
        for job in ws.jobs:
            flagged = [
                (t, clusters.get(t.existing_cluster_id))
                for t in job.tasks
                if t.compute == "existing_cluster" and t.existing_cluster_id
            ]
            flagged = [(t, c) for t, c in flagged if c is None or c.is_all_purpose]
            if not flagged:
                continue
            yield _cmp_hit(ctx, ws, job, flagged, runs_by_job.get(job.job_id, []))


def _cmp_hit(
    ctx: CheckContext,
    ws: DatabricksWorkspace,
    job: DbxJob,
    flagged: list[tuple[DbxTask, DbxCluster | None]],
    runs: list[DbxJobRun],
) -> Hit:
    by_cluster: dict[str, list[str]] = defaultdict(list)
    known: dict[str, DbxCluster | None] = {}
    for task, cluster in flagged:
        cid = task.existing_cluster_id or "?"
        by_cluster[cid].append(task.task_key)
        known[cid] = cluster
    parts = []
    for cid, keys in by_cluster.items():
        c = known[cid]
        where = f"all-purpose cluster '{c.name}'" if c else f"cluster {cid}, which is not in the cluster list"
        parts.append(f"{_plural('task', keys)} {', '.join(keys)} on {where}")
    message = (
        f"Job '{job.name}' runs {'; '.join(parts)}: automated work there pays the all-purpose "
        "DBU rate instead of the jobs rate"
    )
    evidence: dict[str, object] = {
        "job_id": job.job_id,
        "scheduled": job.scheduled,
        "tasks": [_task_evidence(t, c) for t, c in flagged],
    }
    cost, reason = _cmp_cost(ctx, ws, job, flagged, runs)
    if cost is None:
        evidence["cost_unavailable"] = reason
    return Hit(
        resource_id=job.resource_id,
        resource_kind="databricks.job",
        resource_name=job.name,
        scope_id=ws.resource_id,
        message=message,
        evidence=evidence,
        cost=cost,
    )


def _task_evidence(task: DbxTask, cluster: DbxCluster | None) -> dict[str, object]:
    item: dict[str, object] = {"task_key": task.task_key, "cluster_id": task.existing_cluster_id}
    if cluster is None:
        item["cluster_known"] = False
        item["note"] = (
            "not in clusters/list (deleted, or terminated more than 30 days ago and not pinned); "
            "an existing_cluster_id always names an all-purpose cluster"
        )
    else:
        item.update(
            cluster_known=True,
            cluster_name=cluster.name,
            cluster_source=cluster.source,
            node_type=cluster.size.node_type_id,
            workers=cluster.size.workers_for_pricing,
        )
    return item


def _usage(
    job: DbxJob,
    flagged: list[tuple[DbxTask, DbxCluster | None]],
    runs: Iterable[DbxJobRun],
    cutoff: datetime | None,
) -> _Usage:
    """Hours of the job's task runs on the flagged clusters, per cluster, since `cutoff`."""
    task_cluster = {t.task_key: t.existing_cluster_id for t, _ in flagged if t.existing_cluster_id}
    cluster_ids = set(task_cluster.values())
    hours: dict[str, float] = defaultdict(float)
    n_runs = n_task_runs = 0
    for run in runs:
        if cutoff is not None and (run.start_time is None or run.start_time < cutoff):
            continue
        counted = False
        if not run.tasks and len(job.tasks) == 1 and job.tasks[0].task_key in task_cluster:
            # A single-task run reported without its task breakdown.
            hours[task_cluster[job.tasks[0].task_key]] += run.duration_ms / 3_600_000
            n_task_runs += 1
            counted = True
        for tr in run.tasks:
            cid = tr.cluster_id
            if cid is None:
                cid = task_cluster.get(tr.task_key)
            if cid is None or cid not in cluster_ids:
                continue
            hours[cid] += tr.duration_ms / 3_600_000
            n_task_runs += 1
            counted = True
        n_runs += counted
    return _Usage(runs=n_runs, task_runs=n_task_runs, hours_by_cluster=dict(hours))


def cluster_dbu_per_hour(size: ClusterSize, prices: PriceBook) -> float | None:
    """DBUs per hour of a cluster: workers x node DBU + the driver at its own node type."""
    worker = prices.node_dbu(size.node_type_id)
    driver = prices.node_dbu(size.driver_node_type_id or size.node_type_id)
    if worker is None or driver is None:
        return None
    return size.workers_for_pricing * worker + driver


def _cmp_cost(
    ctx: CheckContext,
    ws: DatabricksWorkspace,
    job: DbxJob,
    flagged: list[tuple[DbxTask, DbxCluster | None]],
    runs: list[DbxJobRun],
) -> tuple[CostEstimate | None, str]:
    if ws.runs_window_days <= 0:
        return None, "job runs were not collected for this workspace"
    window = min(int(ctx.params["window_days"]), ws.runs_window_days)
    cutoff = None if window >= ws.runs_window_days else ctx.now - timedelta(days=window)
    usage = _usage(job, flagged, runs, cutoff)
    if not usage.task_runs:
        return None, f"no completed run of these tasks in the last {window} days"
    tier, tier_note = _tier(ctx, ws)
    all_purpose = ctx.prices.dbu_rate(tier, "all_purpose")
    jobs_rate = ctx.prices.dbu_rate(tier, "jobs")
    if all_purpose is None or jobs_rate is None:
        return None, f"the price book has no all-purpose and jobs DBU rates for tier {tier!r}"
    clusters = {t.existing_cluster_id: c for t, c in flagged}
    dbu = 0.0
    per_cluster: list[tuple[DbxCluster, float, float]] = []
    for cid, hours in sorted(usage.hours_by_cluster.items()):
        cluster = clusters.get(cid)
        if cluster is None:
            return None, f"cluster {cid} is not in the cluster list, so its size is unknown"
        rate = cluster_dbu_per_hour(cluster.size, ctx.prices)
        if rate is None:
            nodes = {cluster.size.node_type_id, cluster.size.driver_node_type_id or cluster.size.node_type_id}
            names = ", ".join(sorted(str(n) for n in nodes))
            return None, f"no DBU rate in the price book for node type {names} (cluster '{cluster.name}')"
        dbu += hours * rate
        per_cluster.append((cluster, hours, rate))
    scale = DAYS_PER_MONTH / window
    monthly = dbu * scale * (all_purpose - jobs_rate)
    total_hours = sum(h for _, h, _ in per_cluster)
    inputs: dict[str, float | int | str] = {
        "runs": usage.runs,
        "task_runs": usage.task_runs,
        "hours": round(total_hours, 4),
        "dbu": round(dbu, 4),
        "window_days": window,
        "days_per_month": DAYS_PER_MONTH,
        "tier": tier,
        "all_purpose_rate": all_purpose,
        "jobs_rate": jobs_rate,
    }
    if len(per_cluster) == 1:
        cluster, _, rate = per_cluster[0]
        size = cluster.size
        inputs["node_type"] = str(size.node_type_id)
        inputs["nodes"] = size.workers_for_pricing + 1
        inputs["dbu_per_hour"] = rate
        if not size.driver_node_type_id or size.driver_node_type_id == size.node_type_id:
            inputs["dbu_per_node_hour"] = ctx.prices.node_dbu(size.node_type_id) or 0.0
        else:
            inputs["driver_node_type"] = size.driver_node_type_id
    else:
        inputs["clusters"] = "; ".join(f"{c.name}: {h:.4g} h x {r:g} DBU/h" for c, h, r in per_cluster)
    if tier_note:
        inputs["tier_note"] = tier_note
    formula = (
        "hours x (workers + 1) x DBU per node-hour = DBU in the window; "
        f"DBU x {DAYS_PER_MONTH} / window_days x (all_purpose_rate - jobs_rate)"
    )
    return (
        CostEstimate(
            monthly=round(monthly, 2),
            currency=ctx.prices.currency,
            formula=formula,
            inputs=inputs,
            price_source=ctx.prices.source("databricks"),
        ),
        "",
    )


def _tier(ctx: CheckContext, ws: DatabricksWorkspace) -> tuple[str, str]:
    """The tier to price DBUs at, and a note when it is not the one asked for."""
    wanted = str(ctx.params.get("dbu_tier") or "").strip() or ws.pricing_tier or ctx.prices.default_tier()
    known = {t.lower() for t in ctx.prices.data.databricks.dbu_rates}
    if wanted.lower() in known:
        return wanted.lower(), ""
    fallback = ctx.prices.default_tier()
    return fallback, f"tier {wanted!r} has no DBU rates in the price book; priced at {fallback}"


# ---------------------------------------------------------------------------------------------
# CST-001: all-purpose clusters that do not auto-terminate


@check("CST-001", scopes={"databricks": ("clusters",)})
def clusters_without_autotermination(ctx: CheckContext) -> Iterator[Hit]:
    """All-purpose clusters with auto-termination off or longer than `max_minutes`."""
    limit = int(ctx.params["max_minutes"])
    for ws in ctx.snapshot.databricks:
        for c in ws.clusters:
            if not c.is_all_purpose:
                continue
            minutes = c.autotermination_minutes
            if minutes is not None and 0 < minutes <= limit:
                continue
            if not minutes:
                message = (
                    f"Cluster '{c.name}' never auto-terminates "
                    f"(autotermination_minutes={minutes if minutes is not None else 'unset'})"
                )
            else:
                message = f"Cluster '{c.name}' auto-terminates only after {minutes} idle minutes (limit {limit})"
            evidence: dict[str, object] = {
                "cluster_id": c.cluster_id,
                "autotermination_minutes": minutes,
                "max_minutes": limit,
                "state": c.state,
                "source": c.source,
                "creator": c.creator,
                "pinned": c.is_pinned,
                "node_type": c.size.node_type_id,
                "driver_node_type": c.size.driver_node_type_id or c.size.node_type_id,
                "workers": _workers_text(c.size),
            }
            evidence.update(_idle_cost(c.size, ws, ctx.prices))
            yield Hit(
                resource_id=c.resource_id,
                resource_kind="databricks.cluster",
                resource_name=c.name,
                scope_id=ws.resource_id,
                message=message,
                evidence=evidence,
            )


def _workers_text(size: ClusterSize) -> str:
    if size.num_workers is not None:
        return str(size.num_workers)
    if size.autoscale_min is not None or size.autoscale_max is not None:
        high = size.autoscale_max if size.autoscale_max is not None else "?"
        return f"autoscale {size.autoscale_min or 0}-{high}"
    return "unknown"


def _idle_cost(size: ClusterSize, ws: DatabricksWorkspace, prices: PriceBook) -> dict[str, object]:
    """What one idle hour of the cluster at its minimum size costs (VMs + all-purpose DBUs)."""
    nodes = size.workers_for_pricing + 1
    worker_vm = prices.vm_hourly(size.node_type_id, ws.location)
    driver_vm = prices.vm_hourly(size.driver_node_type_id or size.node_type_id, ws.location)
    dbu = cluster_dbu_per_hour(size, prices)
    rate = prices.dbu_rate(ws.pricing_tier, "all_purpose")
    if worker_vm is None or driver_vm is None or dbu is None or rate is None:
        return {"idle_cost_per_hour": None, "idle_cost_note": "node type not in the price book"}
    hourly = size.workers_for_pricing * worker_vm + driver_vm + dbu * rate
    return {
        "idle_cost_per_hour": round(hourly, 3),
        "idle_cost_currency": prices.currency,
        "idle_cost_basis": (
            f"{nodes} node(s) x VM price ({ws.location or prices.region}) + {dbu:g} DBU/h x "
            f"{rate:g} all-purpose rate; an idle night and weekend is about 128 hours a week"
        ),
    }


# ---------------------------------------------------------------------------------------------
# CST-004: on-demand job clusters and dedicated AML compute clusters


@check("CST-004", scopes={"databricks": ("jobs",), "aml": ("computes",)})
def no_spot_capacity(ctx: CheckContext) -> Iterator[Hit]:
    """Job clusters not on spot VMs, and AML compute clusters not on low-priority VMs."""
    for ws in ctx.snapshot.databricks:
        for job in ws.jobs:
            for jc in job.job_clusters:
                availability = (jc.size.availability or "").upper()
                if availability in _SPOT:
                    continue
                if jc.size.num_workers == 0:
                    continue  # single node: the driver stays on-demand, so spot has nothing to do
                shown = availability or "not set, so ON_DEMAND_AZURE"
                yield Hit(
                    resource_id=job.resource_id,
                    resource_kind="databricks.job",
                    resource_name=job.name,
                    scope_id=ws.resource_id,
                    sub_key=jc.key,
                    message=(
                        f"Job '{job.name}' job cluster '{jc.key}' runs its workers on on-demand VMs "
                        f"(availability {shown})"
                    ),
                    evidence={
                        "job_id": job.job_id,
                        "job_cluster_key": jc.key,
                        "availability": jc.size.availability,
                        "first_on_demand": jc.size.first_on_demand,
                        "node_type": jc.size.node_type_id,
                        "workers": _workers_text(jc.size),
                        "scheduled": job.scheduled,
                    },
                )
    for aml in ctx.snapshot.aml:
        for comp in aml.computes:
            if comp.compute_type.lower() != "amlcompute":
                continue
            if (comp.vm_priority or "").lower() == "lowpriority":
                continue
            yield Hit(
                resource_id=comp.resource_id,
                resource_kind="aml.compute",
                resource_name=comp.name,
                scope_id=aml.resource_id,
                message=(
                    f"AML compute cluster '{comp.name}' uses dedicated VMs "
                    f"(vm_priority {comp.vm_priority or 'not set, so Dedicated'})"
                ),
                evidence={
                    "vm_size": comp.vm_size,
                    "vm_priority": comp.vm_priority,
                    "min_nodes": comp.min_nodes,
                    "max_nodes": comp.max_nodes,
                    "workspace": aml.name,
                },
            )


# ---------------------------------------------------------------------------------------------
# IAM-002: long-lived personal access tokens


@check("IAM-002", scopes={"databricks": ("tokens",)})
def long_lived_tokens(ctx: CheckContext) -> Iterator[Hit]:
    """Personal access tokens that never expire or live longer than `max_days`.

    Tokens that have already expired are left out: there is nothing left to revoke. A one-hour
    tolerance absorbs the gap between the recorded creation time and the computed expiry.
    """
    max_days = int(ctx.params["max_days"])
    limit = timedelta(days=max_days, hours=1)
    for ws in ctx.snapshot.databricks:
        for tok in ws.tokens:
            if tok.expires_at is not None and tok.expires_at <= ctx.now:
                continue
            owner = tok.created_by or "an unknown user"
            name = tok.comment or f"token {tok.token_id}"
            if tok.expires_at is None:
                message = f"Personal access token '{name}' of {owner} never expires"
                lifetime_days: int | None = None
            else:
                start = tok.created_at or ctx.now
                lifetime = tok.expires_at - start
                if lifetime <= limit:
                    continue
                lifetime_days = round(lifetime / timedelta(days=1))
                qualifier = "" if tok.created_at else "at least "
                message = (
                    f"Personal access token '{name}' of {owner} has a lifetime of {qualifier}"
                    f"{lifetime_days} days (limit {max_days}), until {_day(tok.expires_at)}"
                )
            yield Hit(
                resource_id=tok.resource_id,
                resource_kind="databricks.token",
                resource_name=name,
                scope_id=ws.resource_id,
                message=message,
                evidence={
                    "token_id": tok.token_id,
                    "created_by": tok.created_by,
                    "comment": tok.comment,
                    "created_at": format_time(tok.created_at) if tok.created_at else None,
                    "expires_at": format_time(tok.expires_at) if tok.expires_at else None,
                    "lifetime_days": lifetime_days,
                    "max_days": max_days,
                    "last_used_at": format_time(tok.last_used_at) if tok.last_used_at else None,
                },
            )


# ---------------------------------------------------------------------------------------------
# Small helpers


def _label(kind: str) -> str:
    return _KIND_LABELS.get(kind, kind.rsplit(".", 1)[-1].replace("_", " ").capitalize())


def _when(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%d %H:%M UTC")


def _day(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%d")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _plural(word: str, items: Sequence[object]) -> str:
    return word if len(items) == 1 else word + "s"
