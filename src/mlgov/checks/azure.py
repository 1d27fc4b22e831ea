"""Checks of the Azure side: AML workspaces, their container registries and role assignments.

Policies: MLF-003 (MLflow URI into a missing AML workspace), EXP-001 (stale AML experiment),
ACR-001/ACR-002 (registry storage over / near what its SKU includes), GIT-002 (AML jobs without
Git metadata), CMP-002 (AML jobs on compute instances), CST-002 (compute instance that nothing
stops), CST-003 (compute cluster with always-on nodes) and IAM-001 (too many user Owners).

Every check is a pure function of the snapshot. Where the snapshot cannot tell (a date is
missing, a price is unknown, a subscription was not completely listed) a check stays quiet or
leaves the cost out rather than guess.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from mlgov.checks import CheckContext, Hit, check
from mlgov.codec import format_time
from mlgov.findings import CostEstimate
from mlgov.inventory import (
    AmlCompute,
    AmlJob,
    AmlWorkspace,
    ContainerRegistry,
    RoleAssignment,
    UriSighting,
)
from mlgov.prices import DAYS_PER_MONTH, HOURS_PER_MONTH
from mlgov.tokens import parse_azureml_uri

GIB = 1024**3
OWNER_ROLE_GUID = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
"""The built-in Owner role definition id, the same in every tenant and cloud."""

_EXAMPLES = 5
"""How many example names evidence lists before saying how many more there are."""

# The documented public form of an AML regional API host, and the private-link form
# (`<workspace guid>.workspace.<region>.api...`); both name the region unambiguously.
_REGIONAL_HOST = re.compile(
    r"^(?:[0-9a-f-]+\.workspace\.)?(?P<region>[a-z0-9]+)\.api\.(?:azureml\.ms|ml\.azure\.cn|ml\.azure\.us)$"
)
_RUNNING_STATES = frozenset({"running", "jobrunning", "starting", "restarting"})


# ---------------------------------------------------------------------------------------------
# Small helpers


def _last_segment(arm_id: str) -> str:
    """The last path segment of an ARM id (the resource's own name)."""
    return arm_id.rstrip("/").rsplit("/", 1)[-1]


def _subscription_of(arm_id: str) -> str | None:
    """The subscription id inside an ARM id, lower-cased, or None."""
    parts = arm_id.strip("/").split("/")
    for i, part in enumerate(parts[:-1]):
        if part.lower() == "subscriptions":
            return parts[i + 1].lower()
    return None


def _utc(when: datetime | None) -> datetime | None:
    """Treat a naive timestamp as UTC so that it compares with the evaluation time."""
    if when is None or when.tzinfo is not None:
        return when
    return when.replace(tzinfo=UTC)


def _iso(when: datetime | None) -> str | None:
    """A timestamp for evidence, in the report's format (ISO-8601 UTC with `Z`)."""
    return format_time(when) if when else None


def _activity(job: AmlJob) -> datetime | None:
    """The newest date a job shows activity: the later of its creation and last modification."""
    dates = [d for d in (_utc(job.created_at), _utc(job.modified_at)) if d is not None]
    return max(dates) if dates else None


def _submitted(job: AmlJob) -> datetime | None:
    """When a job was submitted (creation time; last modification if creation is unknown)."""
    return _utc(job.created_at) or _utc(job.modified_at)


def _experiments(ws: AmlWorkspace) -> dict[str, list[AmlJob]]:
    """The workspace's jobs grouped by experiment name (jobs with no experiment are left out)."""
    groups: dict[str, list[AmlJob]] = defaultdict(list)
    for job in ws.jobs:
        if job.experiment:
            groups[job.experiment].append(job)
    return dict(sorted(groups.items()))


def _experiment_id(ws: AmlWorkspace, name: str) -> str:
    return f"{ws.resource_id}/experiments/{name}"


def _examples(names: Sequence[str]) -> list[str]:
    shown = list(names[:_EXAMPLES])
    if len(names) > _EXAMPLES:
        shown.append(f"... and {len(names) - _EXAMPLES} more")
    return shown


def _recent(jobs: Iterable[AmlJob], now: datetime, days: int) -> list[AmlJob]:
    """Jobs submitted within `days` of `now`, newest first."""
    since = now - timedelta(days=days)
    dated = [(d, j) for j in jobs if (d := _submitted(j)) is not None and d >= since]
    dated.sort(key=lambda pair: pair[0], reverse=True)
    return [j for _, j in dated]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _region_of_host(host: str | None) -> str | None:
    if not host:
        return None
    match = _REGIONAL_HOST.match(host.strip().lower())
    return match["region"] if match else None


def _kind_label(kind: str) -> str:
    """`databricks.cluster` -> `Databricks cluster`, `aml.job` -> `AML job`, for messages."""
    plane, _, rest = kind.partition(".")
    label = {"databricks": "Databricks", "aml": "AML"}.get(plane, plane)
    return f"{label} {rest.replace('_', ' ')}".strip()


def _norm_location(location: str | None) -> str | None:
    return location.replace(" ", "").lower() if location else None


# ---------------------------------------------------------------------------------------------
# MLF-003


def _sightings(ctx: CheckContext) -> Iterator[tuple[str, UriSighting]]:
    for aml in ctx.snapshot.aml:
        for s in aml.mlflow_uris:
            yield aml.resource_id, s
    for dbx in ctx.snapshot.databricks:
        for s in dbx.mlflow_uris:
            yield dbx.resource_id, s


@check("MLF-003", scopes={"aml": ("jobs",), "databricks": ("clusters", "jobs")})
def mlflow_uri_to_missing_workspace(ctx: CheckContext) -> Iterator[Hit]:
    """`azureml://` MLflow URIs that point at an AML workspace that does not exist, or at the
    wrong region of one that does.

    "Does not exist" is only said when the URI's subscription was listed completely; otherwise
    the workspace may simply be out of the credential's sight. The region test compares the
    region named by the URI's host with the workspace's location, and only for the two host
    shapes that name a region (`<region>.api.azureml.ms` and the private-link
    `<guid>.workspace.<region>.api.azureml.ms`, plus their sovereign-cloud twins); any other
    host shape, or an unknown location, says nothing. When the workspace was audited and its
    own tracking URI is known, the region named by that URI is the reference, and a sighting
    with exactly its host is always fine.
    """
    snap = ctx.snapshot
    regions: dict[str, str | None] = {}
    own_hosts: dict[str, str] = {}
    for ref in snap.known_aml_workspaces:
        regions[ref.resource_id.lower()] = _norm_location(ref.location)
    for ws in snap.aml:
        key = ws.resource_id.lower()
        parsed_own = parse_azureml_uri(ws.mlflow_tracking_uri) if ws.mlflow_tracking_uri else None
        if parsed_own:
            own_hosts[key] = parsed_own[1].lower()
        regions[key] = (
            _region_of_host(parsed_own[1] if parsed_own else None) or regions.get(key) or _norm_location(ws.location)
        )
    complete = {s.lower() for s in snap.complete_subscriptions}

    for scope_id, s in _sightings(ctx):
        if not s.workspace_id:
            continue
        parsed = parse_azureml_uri(s.uri)
        host = parsed[1] if parsed else None
        target_name = _last_segment(s.workspace_id)
        where = f"{s.location} `{s.key}`"
        evidence: dict[str, object] = {
            "object": s.resource_name,
            "object_kind": s.resource_kind,
            "where": s.location,
            "key": s.key,
            "uri": s.uri,
            "target_workspace_id": s.workspace_id,
        }
        key = s.workspace_id.lower()
        if key not in regions:
            sub = _subscription_of(s.workspace_id)
            if sub is None or sub not in complete:
                continue  # We could not see every workspace of that subscription: cannot know.
            evidence["subscription_id"] = sub
            evidence["subscription_listed_completely"] = True
            yield Hit(
                resource_id=s.resource_id,
                resource_kind=s.resource_kind,
                resource_name=s.resource_name,
                scope_id=scope_id,
                sub_key=f"{s.location}|{s.key}",
                message=(
                    f"{_kind_label(s.resource_kind)} '{s.resource_name}' sets an MLflow tracking URI ({where}) "
                    f"for AML workspace '{target_name}', which does not exist in subscription {sub}: "
                    "every MLflow call made with it fails"
                ),
                evidence=evidence,
            )
            continue
        if host and own_hosts.get(key) == host.lower():
            continue
        uri_region = _region_of_host(host)
        ws_region = regions[key]
        if uri_region and ws_region and uri_region != ws_region:
            evidence["uri_region"] = uri_region
            evidence["workspace_region"] = ws_region
            yield Hit(
                resource_id=s.resource_id,
                resource_kind=s.resource_kind,
                resource_name=s.resource_name,
                scope_id=scope_id,
                sub_key=f"{s.location}|{s.key}",
                message=(
                    f"{_kind_label(s.resource_kind)} '{s.resource_name}' sets an MLflow tracking URI ({where}) "
                    f"for AML workspace '{target_name}' through region {uri_region}, but the workspace "
                    f"is in {ws_region}: AML tracking URIs are bound to the workspace's region, so this one "
                    "does not reach it (was the workspace recreated elsewhere?)"
                ),
                evidence=evidence,
            )


# ---------------------------------------------------------------------------------------------
# EXP-001


@check("EXP-001", scopes={"aml": ("jobs",)})
def stale_aml_experiment(ctx: CheckContext) -> Iterator[Hit]:
    """AML experiments whose newest job activity is older than `stale_after_days`.

    An experiment whose every job is already archived is left alone: archiving its jobs is the
    remediation, and the snapshot cannot see the experiment's own archive flag.
    """
    days = int(ctx.params["stale_after_days"])
    limit = ctx.now - timedelta(days=days)
    for ws in ctx.snapshot.aml:
        for name, jobs in _experiments(ws).items():
            dated = [(a, j) for j in jobs if (a := _activity(j)) is not None]
            if len(dated) < len(jobs) or not dated:
                continue  # A job with no date at all: cannot say the experiment is idle.
            newest_at, newest = max(dated, key=lambda pair: pair[0])
            if newest_at >= limit:
                continue
            archived = sum(1 for j in jobs if j.archived)
            if archived == len(jobs):
                continue
            idle_days = (ctx.now - newest_at).days
            active = len(jobs) - archived
            yield Hit(
                resource_id=_experiment_id(ws, name),
                resource_kind="aml.experiment",
                resource_name=name,
                scope_id=ws.resource_id,
                message=(
                    f"Experiment '{name}' in workspace '{ws.name}' has had no job activity for "
                    f"{idle_days} days (newest job '{newest.name}', {newest_at.date().isoformat()}); "
                    f"{_plural(active, 'job')} {'is' if active == 1 else 'are'} still listed in the studio"
                    + (f" ({archived} already archived)" if archived else "")
                ),
                evidence={
                    "workspace": ws.name,
                    "job_count": len(jobs),
                    "archived_job_count": archived,
                    "active_job_count": active,
                    "newest_job": newest.name,
                    "newest_activity_at": _iso(newest_at),
                    "idle_days": idle_days,
                    "stale_after_days": days,
                },
            )


# ---------------------------------------------------------------------------------------------
# ACR-001 / ACR-002


def _included_bytes(ctx: CheckContext, included: int | None, sku: str | None) -> tuple[int, str] | None:
    """What the registry includes, and where that figure came from."""
    if included:
        return included, "listUsages Size.limit"
    gib = ctx.prices.acr_included_gib(sku)
    if gib:
        return int(gib * GIB), f"price book ({sku} SKU)"
    return None


def _registry_usage(ctx: CheckContext) -> Iterator[tuple[ContainerRegistry, int, int, str]]:
    """Existing registries with a known size and included storage: (registry, size, included, basis)."""
    for reg in ctx.snapshot.registries:
        if not reg.exists or reg.size_bytes is None:
            continue
        inc = _included_bytes(ctx, reg.included_bytes, reg.sku)
        if inc is None:
            continue
        yield reg, reg.size_bytes, inc[0], inc[1]


def _gib(n: float) -> float:
    return round(n / GIB, 3)


@check("ACR-001", scopes={"registry": ("registry",)})
def registry_over_included_storage(ctx: CheckContext) -> Iterator[Hit]:
    """Registries that store more than their SKU includes, priced at the overage rate."""
    for reg, size, included, basis in _registry_usage(ctx):
        if size <= included:
            continue
        over_gib = (size - included) / GIB
        price = ctx.prices.acr_overage_per_gib_day(reg.location)
        monthly = over_gib * price * DAYS_PER_MONTH
        cost = CostEstimate(
            monthly=round(monthly, 2),
            currency=ctx.prices.currency,
            formula="over_gib x price_per_gib_day x days",
            inputs={
                "size_gib": _gib(size),
                "included_gib": _gib(included),
                "over_gib": round(over_gib, 3),
                "price_per_gib_day": price,
                "days": DAYS_PER_MONTH,
            },
            price_source=ctx.prices.source("container_registry"),
        )
        yield Hit(
            resource_id=reg.resource_id,
            resource_kind="acr.registry",
            resource_name=reg.name,
            scope_id=reg.resource_id,
            message=(
                f"Container registry '{reg.name}' ({reg.sku or 'unknown'} SKU) stores "
                f"{_gib(size):g} GiB, {over_gib:.1f} GiB more than the {_gib(included):g} GiB its SKU "
                f"includes; the excess is billed every day (about {monthly:.2f} {ctx.prices.currency} "
                "a month)"
            ),
            evidence={
                "sku": reg.sku,
                "size_bytes": size,
                "included_bytes": included,
                "included_from": basis,
                "usage_ratio": round(size / included, 3),
                "used_by_workspaces": list(reg.used_by),
            },
            cost=cost,
        )


@check("ACR-002", scopes={"registry": ("registry",)})
def registry_near_included_storage(ctx: CheckContext) -> Iterator[Hit]:
    """Registries at or above `warn_ratio` of their included storage, not yet over it."""
    ratio_limit = float(ctx.params["warn_ratio"])
    for reg, size, included, basis in _registry_usage(ctx):
        ratio = size / included
        if size > included or ratio < ratio_limit:
            continue
        yield Hit(
            resource_id=reg.resource_id,
            resource_kind="acr.registry",
            resource_name=reg.name,
            scope_id=reg.resource_id,
            message=(
                f"Container registry '{reg.name}' ({reg.sku or 'unknown'} SKU) uses {ratio:.0%} of its "
                f"included storage ({_gib(size):g} of {_gib(included):g} GiB); "
                f"{_gib(included - size):g} GiB left before overage is billed"
            ),
            evidence={
                "sku": reg.sku,
                "size_bytes": size,
                "included_bytes": included,
                "included_from": basis,
                "usage_ratio": round(ratio, 3),
                "warn_ratio": ratio_limit,
                "headroom_gib": _gib(included - size),
                "used_by_workspaces": list(reg.used_by),
            },
        )


# ---------------------------------------------------------------------------------------------
# GIT-002


def _has_git(job: AmlJob) -> bool:
    return bool(job.git_repo_url or job.git_commit)


@check("GIT-002", scopes={"aml": ("jobs",)})
def aml_experiment_without_git(ctx: CheckContext) -> Iterator[Hit]:
    """AML experiments whose jobs of the last `window_days` all lack Git metadata."""
    days = int(ctx.params["window_days"])
    for ws in ctx.snapshot.aml:
        for name, jobs in _experiments(ws).items():
            recent = _recent(jobs, ctx.now, days)
            if not recent or any(_has_git(j) for j in recent):
                continue
            yield Hit(
                resource_id=_experiment_id(ws, name),
                resource_kind="aml.experiment",
                resource_name=name,
                scope_id=ws.resource_id,
                message=(
                    f"None of the {_plural(len(recent), 'job')} of experiment '{name}' in workspace "
                    f"'{ws.name}' in the last {days} days records a Git repository or commit: the code "
                    "that produced them cannot be traced"
                ),
                evidence={
                    "workspace": ws.name,
                    "recent_job_count": len(recent),
                    "window_days": days,
                    "newest_job": recent[0].name,
                    "newest_job_at": _iso(_submitted(recent[0])),
                    "jobs": _examples([j.name for j in recent]),
                },
            )


# ---------------------------------------------------------------------------------------------
# CMP-002


def _compute_index(ws: AmlWorkspace) -> tuple[dict[str, AmlCompute], dict[str, AmlCompute]]:
    by_id = {c.resource_id.lower(): c for c in ws.computes}
    by_name = {c.name.lower(): c for c in ws.computes}
    return by_id, by_name


def _resolve_compute(
    ws: AmlWorkspace, compute_id: str | None, index: tuple[dict[str, AmlCompute], dict[str, AmlCompute]]
) -> AmlCompute | None:
    """The workspace compute a job's `compute_id` names: by ARM id, else by its last segment.

    Accepts an ARM id, `azureml:<name>` and a bare name. An ARM id of another workspace's
    compute never matches by name.
    """
    if not compute_id:
        return None
    text = compute_id.strip()
    if text.lower().startswith("azureml:"):
        text = text[len("azureml:") :]
    by_id, by_name = index
    found = by_id.get(text.rstrip("/").lower())
    if found is not None:
        return found
    if "/workspaces/" in text.lower():
        prefix = ws.resource_id.rstrip("/").lower() + "/computes/"
        if not text.lower().startswith(prefix):
            return None
    return by_name.get(_last_segment(text).lower())


@check("CMP-002", scopes={"aml": ("jobs", "computes")})
def aml_jobs_on_compute_instance(ctx: CheckContext) -> Iterator[Hit]:
    """AML experiments whose recent jobs ran on a compute instance instead of a cluster.

    One finding per experiment, not per job: the fix is made once, in the job definition the
    experiment's jobs are submitted from (`compute:`), and a finding per job would produce a
    new alert for each run and never resolve, since AML keeps old jobs. The window
    (`window_days`) lets the finding resolve once new runs go to a cluster.

    Pipeline jobs are left out: a pipeline's `compute_id` is only the default for its steps,
    which may each name another compute, and the snapshot does not hold the steps.
    """
    days = int(ctx.params["window_days"])
    for ws in ctx.snapshot.aml:
        index = _compute_index(ws)
        for name, jobs in _experiments(ws).items():
            on_ci: list[tuple[AmlJob, AmlCompute]] = []
            for job in _recent(jobs, ctx.now, days):
                if (job.job_type or "").lower() == "pipeline":
                    continue
                compute = _resolve_compute(ws, job.compute_id, index)
                if compute is not None and compute.compute_type.lower() == "computeinstance":
                    on_ci.append((job, compute))
            if not on_ci:
                continue
            instances = sorted({c.name for _, c in on_ci})
            yield Hit(
                resource_id=_experiment_id(ws, name),
                resource_kind="aml.experiment",
                resource_name=name,
                scope_id=ws.resource_id,
                message=(
                    f"{_plural(len(on_ci), 'job')} of experiment '{name}' in workspace '{ws.name}' ran on "
                    f"compute instance{'s' if len(instances) > 1 else ''} {', '.join(instances)} in the last "
                    f"{days} days instead of a compute cluster that scales to zero"
                ),
                evidence={
                    "workspace": ws.name,
                    "job_count": len(on_ci),
                    "window_days": days,
                    "compute_instances": instances,
                    "jobs": _examples([j.name for j, _ in on_ci]),
                    "newest_job_at": _iso(_submitted(on_ci[0][0])),
                },
            )


# ---------------------------------------------------------------------------------------------
# CST-002 / CST-003


def _computes(ctx: CheckContext, compute_type: str) -> Iterator[tuple[AmlWorkspace, AmlCompute]]:
    for ws in ctx.snapshot.aml:
        for c in ws.computes:
            if c.compute_type.lower() == compute_type.lower():
                yield ws, c


@check("CST-002", scopes={"aml": ("computes",)})
def compute_instance_never_stops(ctx: CheckContext) -> Iterator[Hit]:
    """Compute instances with neither idle shutdown nor an enabled stop schedule.

    Priced only while the instance is running: `vm_hourly x 730 x assumed_idle_ratio`, the
    share of a month an instance that nothing stops is assumed to sit idle (a parameter,
    stated in the cost inputs).
    """
    idle_ratio = float(ctx.params["assumed_idle_ratio"])
    for ws, c in _computes(ctx, "ComputeInstance"):
        if c.idle_shutdown_minutes is not None or c.stop_schedules > 0:
            continue
        region = c.location or ws.location
        running = (c.state or "").replace(" ", "").lower() in _RUNNING_STATES
        evidence: dict[str, object] = {
            "workspace": ws.name,
            "state": c.state,
            "vm_size": c.vm_size,
            "idle_shutdown_minutes": None,
            "stop_schedules": 0,
            "created_by": c.created_by,
        }
        cost = None
        hourly = ctx.prices.vm_hourly(c.vm_size, region)
        if not running:
            evidence["cost_note"] = "not priced: the instance is not running now"
        elif hourly is None:
            evidence["cost_note"] = f"not priced: no price for {c.vm_size} in {region}"
        elif idle_ratio > 0:
            cost = CostEstimate(
                monthly=round(hourly * HOURS_PER_MONTH * idle_ratio, 2),
                currency=ctx.prices.currency,
                formula="vm_hourly x hours_per_month x assumed_idle_ratio",
                inputs={
                    "vm_size": c.vm_size or "",
                    "region": region or "",
                    "vm_hourly": hourly,
                    "hours_per_month": HOURS_PER_MONTH,
                    "assumed_idle_ratio": idle_ratio,
                },
                price_source=ctx.prices.source("virtual_machines"),
            )
        state = f"{c.vm_size or 'unknown size'}, {c.state or 'state unknown'}"
        yield Hit(
            resource_id=c.resource_id,
            resource_kind="aml.compute_instance",
            resource_name=c.name,
            scope_id=ws.resource_id,
            message=(
                f"Compute instance '{c.name}' ({state}) in workspace '{ws.name}' has neither idle "
                "shutdown nor a stop schedule: once started, it bills until someone stops it by hand"
            ),
            evidence=evidence,
            cost=cost,
        )


@check("CST-003", scopes={"aml": ("computes",)})
def compute_cluster_always_on(ctx: CheckContext) -> Iterator[Hit]:
    """Compute clusters whose minimum node count is above 0, priced as always-on nodes."""
    for ws, c in _computes(ctx, "AmlCompute"):
        if not c.min_nodes or c.min_nodes <= 0:
            continue
        region = c.location or ws.location
        low_priority = (c.vm_priority or "").lower() == "lowpriority"
        evidence: dict[str, object] = {
            "workspace": ws.name,
            "vm_size": c.vm_size,
            "min_nodes": c.min_nodes,
            "max_nodes": c.max_nodes,
            "vm_priority": c.vm_priority,
        }
        cost = None
        hourly = ctx.prices.vm_hourly(c.vm_size, region)
        if hourly is None:
            evidence["cost_note"] = f"not priced: no price for {c.vm_size} in {region}"
        else:
            if low_priority:
                evidence["cost_note"] = (
                    "priced at the dedicated rate: low-priority nodes cost less, so this is an upper bound"
                )
            cost = CostEstimate(
                monthly=round(c.min_nodes * hourly * HOURS_PER_MONTH, 2),
                currency=ctx.prices.currency,
                formula="min_nodes x vm_hourly x hours_per_month",
                inputs={
                    "min_nodes": c.min_nodes,
                    "vm_size": c.vm_size or "",
                    "region": region or "",
                    "vm_hourly": hourly,
                    "hours_per_month": HOURS_PER_MONTH,
                    "price_tier": "dedicated (upper bound for LowPriority)" if low_priority else "dedicated",
                },
                price_source=ctx.prices.source("virtual_machines"),
            )
        yield Hit(
            resource_id=c.resource_id,
            resource_kind="aml.compute_cluster",
            resource_name=c.name,
            scope_id=ws.resource_id,
            message=(
                f"Compute cluster '{c.name}' in workspace '{ws.name}' keeps "
                f"{_plural(c.min_nodes, 'node')} of {c.vm_size or 'unknown size'} allocated at all times "
                f"(minimum nodes {c.min_nodes}): they bill around the clock, with or without jobs"
            ),
            evidence=evidence,
            cost=cost,
        )


# ---------------------------------------------------------------------------------------------
# IAM-001


def _is_owner(ra: RoleAssignment) -> bool:
    """True when the assignment grants the built-in Owner role (by definition id, never by name)."""
    return _last_segment(ra.role_definition_id).lower() == OWNER_ROLE_GUID


def _workspace_kind(arm_id: str) -> str:
    lowered = arm_id.lower()
    if "/providers/microsoft.databricks/" in lowered:
        return "databricks.workspace"
    if "/providers/microsoft.machinelearningservices/" in lowered:
        return "aml.workspace"
    return "azure.workspace"


@check("IAM-001", scopes={"rbac": ("role_assignments",)})
def too_many_user_owners(ctx: CheckContext) -> Iterator[Hit]:
    """Workspaces where more than `max_owners` individual users hold Owner, directly or inherited.

    Owner is recognised by the built-in role definition id only: a custom role named "Owner"
    is another role. Groups and service principals are not counted; assignments whose
    principal type is unknown are reported in the evidence but not counted either.
    """
    max_owners = int(ctx.params["max_owners"])
    by_workspace: dict[str, list[RoleAssignment]] = defaultdict(list)
    for ra in ctx.snapshot.role_assignments:
        by_workspace[ra.applies_to.lower()].append(ra)
    for assignments in by_workspace.values():
        owners = [ra for ra in assignments if _is_owner(ra)]
        users: dict[str, list[RoleAssignment]] = defaultdict(list)
        others: Mapping[str, int] = _count_types(owners)
        for ra in owners:
            if (ra.principal_type or "").lower() == "user":
                users[ra.principal_id.lower()].append(ra)
        if len(users) <= max_owners:
            continue
        ws_id = assignments[0].applies_to
        name = _last_segment(ws_id)
        listed = [
            {"principal_id": ra.principal_id, "scope": ra.scope, "inherited": ra.inherited}
            for pid in sorted(users)
            for ra in sorted(users[pid], key=lambda r: r.scope.lower())
        ]
        inherited_only = sum(1 for ras in users.values() if all(r.inherited for r in ras))
        yield Hit(
            resource_id=ws_id,
            resource_kind=_workspace_kind(ws_id),
            resource_name=name,
            scope_id=ws_id,
            message=(
                f"{len(users)} individual users hold Owner on workspace '{name}' (at most {max_owners} "
                f"wanted); {inherited_only} of them only through an inherited assignment"
            ),
            evidence={
                "user_owner_count": len(users),
                "max_owners": max_owners,
                "user_owner_assignments": listed,
                **others,
            },
        )


def _count_types(owners: Iterable[RoleAssignment]) -> dict[str, int]:
    """Owner assignments that do not count toward the limit, by kind of principal."""
    counts = {"group_owner_assignments": 0, "service_principal_owner_assignments": 0}
    unknown = 0
    other = 0
    for ra in owners:
        kind = (ra.principal_type or "").lower()
        if kind in ("group", "foreigngroup"):
            counts["group_owner_assignments"] += 1
        elif kind in ("serviceprincipal", "msi"):
            counts["service_principal_owner_assignments"] += 1
        elif not kind:
            unknown += 1
        elif kind != "user":
            other += 1
    if unknown:
        counts["unknown_type_owner_assignments_not_counted"] = unknown
    if other:
        counts["other_type_owner_assignments"] = other
    return counts
