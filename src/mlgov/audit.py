"""One audit run: targets -> collectors -> snapshot -> policy engine -> result.

Used by `mlgov audit`, by `mlgov serve` and by the benchmarks. It never prints; it returns an
`AuditResult` whose `status` the CLI maps to an exit code.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from mlgov import snapshot as snapshot_io
from mlgov.catalogue import Catalogue, load_catalogue
from mlgov.config import Config
from mlgov.context import AuditContext, DeadlineExceeded
from mlgov.engine import Evaluation, PolicySettings, evaluate, validate_settings
from mlgov.errors import UsageError
from mlgov.inventory import (
    AmlWorkspace,
    AmlWorkspaceRef,
    ContainerRegistry,
    DatabricksWorkspace,
    RoleAssignment,
    ScopeStatus,
    SubscriptionInfo,
)
from mlgov.logs import get_logger
from mlgov.prices import PriceBook, load_prices
from mlgov.progress import NullProgress, ProgressListener
from mlgov.snapshot import Snapshot
from mlgov.targets import AmlTarget, DatabricksTarget, Target, in_shard, select_targets

RunStatus = Literal["success", "partial", "error"]


@dataclass(frozen=True, slots=True)
class AuditOptions:
    """What to audit and how, from the command line or the service."""

    targets: Sequence[str] = ()
    policies: Sequence[str] | None = None
    shard: tuple[int, int] | None = None
    from_snapshot: Path | None = None
    save_snapshot: Path | None = None
    more_snapshots: Sequence[Path] = ()
    """Further snapshots to evaluate together with `from_snapshot` (the shards of one audit)."""


@dataclass(frozen=True, slots=True)
class AuditResult:
    """The outcome of one run."""

    snapshot: Snapshot
    evaluation: Evaluation
    status: RunStatus
    started_at: datetime
    duration_seconds: float
    api_calls: dict[str, int] = field(default_factory=dict)
    prices: PriceBook | None = None


@dataclass(frozen=True, slots=True)
class Discovery:
    """What ARM discovery found: subscriptions, targets, every visible AML workspace."""

    subscriptions: tuple[SubscriptionInfo, ...] = ()
    targets: tuple[Target, ...] = ()
    known_aml_workspaces: tuple[AmlWorkspaceRef, ...] = ()
    complete_subscriptions: tuple[str, ...] = ()
    scopes: tuple[ScopeStatus, ...] = ()


def configured_targets(config: Config) -> list[Target]:
    """Databricks workspaces named by host in the config."""
    return [
        DatabricksTarget(
            host=w.host,
            name=w.display_name,
            auth=w.auth,
            arm_id=w.resource_id,
        )
        for w in config.databricks.workspaces
    ]


def policy_settings(config: Config) -> PolicySettings:
    """The engine's view of the `policies:` section."""
    p = config.policies
    return PolicySettings(
        disabled=frozenset(x.upper() for x in p.disabled),
        parameters={k.upper(): v for k, v in p.parameters.items()},
        severities={k.upper(): v for k, v in p.severity.items()},
    )


def load_policy_catalogue(config: Config | None) -> Catalogue:
    """The shipped catalogue, or the config's policy directory."""
    directory = Path(config.policies.directory) if config and config.policies.directory else None
    return load_catalogue(directory)


def price_book(config: Config | None) -> PriceBook:
    """Prices as the config asks (file, region, currency)."""
    if config is None:
        return load_prices()
    p = config.prices
    return load_prices(
        Path(p.file) if p.file else None, region=p.region, currency=p.currency, databricks_tier=p.databricks_tier
    )


def collect(
    ctx: AuditContext,
    options: AuditOptions,
    *,
    progress: ProgressListener | None = None,
    discover: Callable[[AuditContext], Discovery] | None = None,
) -> Snapshot:
    """Discover targets, read every one of them, and assemble the snapshot.

    Concurrency: up to `collection.concurrency.scopes` workspaces are read at once (each one
    reads its API families concurrently too), while role assignments of every target are read
    beside them; container registries follow the AML workspaces that name them. Requests in
    flight are bounded per API family by the context's limiters, whatever the thread count.

    Deadline: `collection.timeout_seconds` counts from here. A scope (or the registries, or
    the role assignments) not done by then becomes a failed status (AUD-001) saying so, and
    collection returns: threads still running stop at their next request.
    """
    listener = progress or NullProgress()
    taken_at = datetime.now(UTC).replace(microsecond=0)
    ctx.collection_started_at = taken_at
    ctx.deadline.start()
    discovery = Discovery()
    if ctx.config.azure is not None:
        discovery = discover(ctx) if discover is not None else _arm_discover(ctx, listener)
    targets = _dedupe([*configured_targets(ctx.config), *discovery.targets])
    targets = select_targets(targets, options.targets)
    if options.shard:
        index, count = options.shard
        targets = [t for t in targets if in_shard(t.key, index, count)]

    def run(target: Target) -> tuple[DatabricksWorkspace | AmlWorkspace, list[ScopeStatus]]:
        listener.scope_started(target.resource_id, target.name)
        if isinstance(target, DatabricksTarget):
            from mlgov.collectors.databricks import collect_workspace as collect_dbx

            result: tuple[DatabricksWorkspace | AmlWorkspace, list[ScopeStatus]] = collect_dbx(
                ctx, target, listener
            )
        else:
            from mlgov.collectors.aml import collect_workspace as collect_aml

            result = collect_aml(ctx, target, listener)
        listener.scope_finished(target.resource_id, all(s.ok for s in result[1]))
        return result

    # Role assignments need only the targets' ARM ids: read them beside the workspaces.
    arm_ids = [t.resource_id for t in targets if isinstance(t, AmlTarget)]
    arm_ids += [t.arm_id for t in targets if isinstance(t, DatabricksTarget) and t.arm_id]
    workers = max(1, min(ctx.config.collection.concurrency.scopes, len(targets)))
    scope_pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mlgov-scope")
    side_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mlgov-arm")
    try:
        rbac = side_pool.submit(_role_assignments, ctx, arm_ids, listener) if arm_ids and ctx.config.azure else None
        futures = [scope_pool.submit(run, target) for target in targets]
        _wait(futures, ctx)
        databricks: list[DatabricksWorkspace] = []
        aml: list[AmlWorkspace] = []
        scopes: list[ScopeStatus] = list(discovery.scopes)
        for target, future in zip(targets, futures, strict=True):
            if future.done():
                record, statuses = future.result()  # a bug in a collector still ends the run
            else:
                future.cancel()
                listener.scope_finished(target.resource_id, False)
                record, statuses = _unfinished(ctx, target)
            scopes.extend(statuses)
            if isinstance(record, DatabricksWorkspace):
                databricks.append(record)
            else:
                aml.append(record)

        registries: list[ContainerRegistry] = []
        if any(w.registry_id for w in aml):
            acr = side_pool.submit(_registries, ctx, aml, listener)
            _wait([acr], ctx)
            regs, reg_scopes = acr.result() if acr.done() else ([], _registries_unfinished(ctx, aml))
            registries.extend(regs)
            scopes.extend(reg_scopes)
        assignments: list[RoleAssignment] = []
        if rbac is not None:
            _wait([rbac], ctx)
            ras, ra_scopes = rbac.result() if rbac.done() else ([], _rbac_unfinished(ctx, arm_ids))
            assignments.extend(ras)
            scopes.extend(ra_scopes)
    finally:
        # Past the deadline nothing is waited for: threads still reading stop at their next request.
        scope_pool.shutdown(wait=False, cancel_futures=True)
        side_pool.shutdown(wait=False, cancel_futures=True)

    # Failed scopes are in the report (AUD-001); the log line is for services that ship logs.
    log = get_logger(__name__)
    for failed in scopes:
        if not failed.ok:
            log.info("collector.scope_failed", scope=failed.scope_id, family=failed.family,
                        status=failed.status, code=failed.code, error=failed.error)
    log.info("collector.done", targets=len(targets), scopes=len(scopes),
             failed=sum(1 for s in scopes if not s.ok))
    return Snapshot(
        taken_at=taken_at,
        scopes=tuple(scopes),
        subscriptions=discovery.subscriptions,
        databricks=tuple(sorted(databricks, key=lambda w: w.resource_id)),
        aml=tuple(sorted(aml, key=lambda w: w.resource_id.lower())),
        registries=tuple(registries),
        role_assignments=tuple(assignments),
        known_aml_workspaces=discovery.known_aml_workspaces,
        complete_subscriptions=discovery.complete_subscriptions,
    )


def _wait(futures: Sequence[Future[Any]], ctx: AuditContext) -> None:
    """Wait for the futures, at most until the collection deadline."""
    wait_for(futures, timeout=ctx.deadline.remaining())


RBAC_SCOPE = "mlgov:role-assignments"
REGISTRIES_SCOPE = "mlgov:registries"


def _role_assignments(
    ctx: AuditContext, arm_ids: list[str], listener: ProgressListener
) -> tuple[list[RoleAssignment], list[ScopeStatus]]:
    from mlgov.collectors.rbac import collect_role_assignments

    listener.scope_started(RBAC_SCOPE, "role assignments")
    ras, statuses = collect_role_assignments(ctx, arm_ids)
    ok = all(s.ok for s in statuses)
    listener.family_done(RBAC_SCOPE, "role_assignments", len(ras), ok)
    listener.scope_finished(RBAC_SCOPE, ok)
    return ras, statuses


def _registries(
    ctx: AuditContext, aml: list[AmlWorkspace], listener: ProgressListener
) -> tuple[list[ContainerRegistry], list[ScopeStatus]]:
    from mlgov.collectors.acr import collect_registries

    listener.scope_started(REGISTRIES_SCOPE, "container registries")
    regs, statuses = collect_registries(ctx, aml)
    ok = all(s.ok for s in statuses)
    listener.family_done(REGISTRIES_SCOPE, "registry", len(regs), ok)
    listener.scope_finished(REGISTRIES_SCOPE, ok)
    return regs, statuses


def _deadline_status(ctx: AuditContext, scope_id: str, scope_kind: str, family: str) -> ScopeStatus:
    exc = DeadlineExceeded(ctx.deadline.seconds)
    return ScopeStatus(
        scope_id=scope_id,
        scope_kind=scope_kind,
        family=family,
        ok=False,
        error=exc.message,
        code=exc.code,
        hint=exc.hint,
    )


def _unfinished(ctx: AuditContext, target: Target) -> tuple[DatabricksWorkspace | AmlWorkspace, list[ScopeStatus]]:
    """A workspace the deadline cut short: no record of what it holds, one failed `*` status."""
    if isinstance(target, DatabricksTarget):
        dbx = DatabricksWorkspace(
            resource_id=target.resource_id,
            host=target.resource_id.removeprefix("databricks://"),
            name=target.name,
            arm_id=target.arm_id,
            location=target.location,
            pricing_tier=target.pricing_tier,
            runs_window_days=ctx.config.collection.runs_window_days,
        )
        return dbx, [_deadline_status(ctx, target.resource_id, "databricks_workspace", "*")]
    ws = AmlWorkspace(
        resource_id=target.resource_id,
        name=target.name,
        subscription_id=target.subscription_id,
        resource_group=target.resource_group,
        location=target.location,
        registry_id=None,
    )
    return ws, [_deadline_status(ctx, target.resource_id, "aml_workspace", "*")]


def _registries_unfinished(ctx: AuditContext, aml: list[AmlWorkspace]) -> list[ScopeStatus]:
    ids = {w.registry_id.lower().rstrip("/"): w.registry_id.rstrip("/") for w in aml if w.registry_id}
    return [_deadline_status(ctx, rid, "registry", "registry") for rid in ids.values()]


def _rbac_unfinished(ctx: AuditContext, arm_ids: list[str]) -> list[ScopeStatus]:
    from mlgov.collectors.rbac import FAMILY, scope_kind_of

    unique = list({w.lower().rstrip("/"): w.rstrip("/") for w in arm_ids}.values())
    return [_deadline_status(ctx, w, scope_kind_of(w), FAMILY) for w in unique]


def run_audit(
    config: Config | None,
    options: AuditOptions,
    *,
    context: AuditContext | None = None,
    progress: ProgressListener | None = None,
    catalogue: Catalogue | None = None,
) -> AuditResult:
    """Collect (or load a snapshot), evaluate the policies, and say how complete the run was.

    With `options.from_snapshot` no credential is needed and `config` may be None.
    """
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    catalogue = catalogue or load_policy_catalogue(config)
    settings = policy_settings(config) if config else PolicySettings()
    validate_settings(catalogue, settings)
    prices = price_book(config)
    api_calls: dict[str, int] = {}
    if options.from_snapshot is not None:
        paths = [options.from_snapshot, *options.more_snapshots]
        loaded = [snapshot_io.load(path) for path in paths]
        snap = merge_snapshots(loaded, sources=[str(p) for p in paths]) if len(loaded) > 1 else loaded[0]
    else:
        if config is None:
            raise ValueError("a config is needed to collect")
        ctx = context or AuditContext(config)
        try:
            snap = collect(ctx, options, progress=progress)
        finally:
            api_calls = {name: lim.calls for name, lim in ctx.limiters.items()}
            if context is None:
                ctx.close()
    if options.save_snapshot is not None:
        snapshot_io.save(snap, options.save_snapshot)
    evaluation = evaluate(snap, catalogue, prices, settings, only=options.policies)
    status: RunStatus = "partial" if snap.failed_scopes else "success"
    if not snap.databricks and not snap.aml and snap.failed_scopes:
        status = "error"
    return AuditResult(
        snapshot=snap,
        evaluation=evaluation,
        status=status,
        started_at=started,
        duration_seconds=time.perf_counter() - t0,
        api_calls=api_calls,
        prices=prices,
    )


def merge_snapshots(snapshots: Sequence[Snapshot], *, sources: Sequence[str] | None = None) -> Snapshot:
    """One snapshot from the shards of an audit (`audit --shard I/N --save-snapshot`).

    Built on `Snapshot.merged`, then: what every shard read alike (subscriptions, discovery
    statuses, known AML workspaces) is kept once; a registry that workspaces of several shards
    use is one record, used by all of them; the time is the latest shard's, so that no
    collector window (EXP-002's run search) starts after the evaluation's "now" minus its
    threshold. A workspace found in two snapshots means the shards overlap (or one file was
    given twice): that is refused rather than reported twice.
    """
    if not snapshots:
        raise ValueError("no snapshot to merge")
    names = list(sources) if sources is not None else [f"snapshot {i + 1}" for i in range(len(snapshots))]
    seen: dict[str, str] = {}
    for name, snap in zip(names, snapshots, strict=True):
        for ws_id in [w.resource_id.lower() for w in snap.databricks] + [w.resource_id.lower() for w in snap.aml]:
            if ws_id in seen:
                raise UsageError(
                    f"{ws_id} is in both {seen[ws_id]} and {name}",
                    hint="Give each shard's snapshot once; shards of one audit must use the same N "
                    "(`--shard I/N`) so that every workspace is in exactly one of them.",
                )
            seen[ws_id] = name
    merged = snapshots[0]
    for other in snapshots[1:]:
        merged = merged.merged(other)
    registries: dict[str, ContainerRegistry] = {}
    for reg in merged.registries:
        key = reg.resource_id.lower()
        first = registries.get(key)
        if first is None:
            registries[key] = reg
        else:
            used_by = tuple(sorted({*first.used_by, *reg.used_by}))
            registries[key] = replace(first if first.exists or not reg.exists else reg, used_by=used_by)
    return replace(
        merged,
        taken_at=max(s.taken_at for s in snapshots),
        scopes=_unique(merged.scopes),
        subscriptions=_unique_by(merged.subscriptions, lambda s: s.subscription_id.lower()),
        registries=tuple(registries.values()),
        known_aml_workspaces=_unique_by(merged.known_aml_workspaces, lambda w: w.resource_id.lower()),
        complete_subscriptions=_unique(merged.complete_subscriptions),
    )


def _unique(items: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(dict.fromkeys(items))


def _unique_by(items: Sequence[Any], key: Callable[[Any], str]) -> tuple[Any, ...]:
    out: dict[str, Any] = {}
    for item in items:
        out.setdefault(key(item), item)
    return tuple(out.values())


def _arm_discover(ctx: AuditContext, listener: ProgressListener | None = None) -> Discovery:
    from mlgov.collectors.arm import discover

    return discover(ctx, listener)


def _dedupe(targets: list[Target]) -> list[Target]:
    seen: dict[str, Target] = {}
    for t in targets:
        # An explicit workspace wins over the same workspace found through ARM, but keeps
        # what discovery knows about it (ARM id, region, tier).
        if t.key in seen:
            first = seen[t.key]
            if isinstance(first, DatabricksTarget) and isinstance(t, DatabricksTarget):
                seen[t.key] = DatabricksTarget(
                    host=first.host,
                    name=first.name,
                    auth=first.auth,
                    arm_id=first.arm_id or t.arm_id,
                    location=first.location or t.location,
                    pricing_tier=first.pricing_tier or t.pricing_tier,
                    subscription_id=first.subscription_id or t.subscription_id,
                )
            continue
        seen[t.key] = t
    return list(seen.values())


__all__ = ["AmlTarget", "AuditOptions", "AuditResult", "Discovery", "collect", "merge_snapshots", "run_audit"]
