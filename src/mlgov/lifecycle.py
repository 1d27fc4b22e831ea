"""Findings lifecycle: waivers, the state store, the delta of a run, and notifications.

`record_run` is the one entry point (the CLI's `audit` and the service call it):

1. load the waivers file and apply it (covered findings get status `waived` and the waiver);
2. lock and open the state store, and in ONE transaction: record the run, upsert every finding,
   resolve the open findings that this run could see are gone, note the waivers applied, and
   put the notifications owed into the outbox;
3. commit, then (if `notify`) send the outbox, earlier runs' leftovers first.

Lifecycle of a finding: `new` (never seen), `open` (seen before, still there), `reopened`
(resolved before, or hidden by a waiver that has expired or been removed). A finding is
resolved only when its (policy id, lower-cased scope id) is in the evaluation's coverage and
it was not seen: a scope that could not be read resolves nothing.

Notifications (per destination, after its filters): new, reopened and resolved findings that
are not waived, and waiver events (expired, expiring within `waivers.warn_days`), each once;
plus a reminder digest of what is still open every `reminder_days`. Unchanged findings are
never posted again.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

from mlgov.audit import AuditResult
from mlgov.config import Config, Destination
from mlgov.delivery.digest import Digest, WaiverEvent, matches_any, passes_filters
from mlgov.findings import Finding, FindingStatus, Severity, sort_key
from mlgov.snapshot import Snapshot
from mlgov.state.store import Delivery, RunRecord, StateStore, StoredFinding, age_days, ts
from mlgov.waivers import Applied, WaiverSet, apply_waivers, load_waivers

Lifecycle = str  # "new" | "open" | "reopened"
_REMINDER_SLACK_DAYS = 1 / 24  # a daily schedule drifting by seconds still reminds on the day


@dataclass(frozen=True)
class LifecycleOutcome:
    """What `record_run` did: findings with waivers applied, their lifecycle, and delivery counts."""

    findings: tuple[Finding, ...]
    """Findings of the run, waivers applied, sorted (worst first)."""
    lifecycle: Mapping[str, str]
    """Fingerprint -> `new`, `open` or `reopened`, for every finding of the run."""
    resolved: tuple[Finding, ...]
    """Findings resolved by this run (as last seen)."""
    expiring_waivers: tuple[Mapping[str, str], ...]
    """Waivers expired or expiring within `waivers.warn_days`: policy, resource, owner, reason,
    expires, days_left, state (`expired` | `expiring`), findings."""
    deliveries_sent: int
    delivery_failures: int
    run_id: str


@dataclass(frozen=True, slots=True)
class Delta:
    """How this run changed the store (computed in memory before anything is written)."""

    to_save: tuple[StoredFinding, ...]
    lifecycle: dict[str, Lifecycle]
    new: tuple[Finding, ...]
    reopened: tuple[Finding, ...]
    resolved: tuple[Finding, ...]
    open_after: tuple[StoredFinding, ...]
    """Every finding open once this run is recorded (seen now, or kept open by a failed scope)."""
    notify_resolved: tuple[Finding, ...] = field(default=())
    """Resolved findings that were not waived when last seen (the ones worth announcing)."""


def record_run(
    result: AuditResult,
    config: Config,
    *,
    notify: bool,
    now: datetime | None = None,
    store_path: Path | None = None,
) -> LifecycleOutcome:
    """Apply waivers, record the run in the state store, enqueue and (if `notify`) send notifications."""
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    today = now.date()
    waivers = _load_waivers(result, config, today)
    applied = apply_waivers(result.evaluation.findings, waivers, today)
    findings = tuple(sorted(applied.findings, key=sort_key))
    run_id = new_run_id(now)
    stamp = ts(now)
    path = store_path or Path(config.state.path)

    store = StateStore.open(
        path, lock_timeout=config.state.lock_timeout_seconds, journal_mode=config.state.journal_mode
    )
    try:
        with store.transaction():
            delta = compute_delta(store.all_findings(), findings, result.evaluation.coverage, stamp, run_id)
            events = waiver_events(waivers, applied, today, config.waivers.warn_days)
            fresh_events = [e for e in events if not store.waiver_noticed(e.key, e.event)]
            deliveries, reminders = plan_deliveries(
                store, config, result.snapshot, delta, fresh_events, now, run_id, result.status
            )
            store.save_run(
                RunRecord(
                    run_id=run_id,
                    started_at=ts(result.started_at),
                    finished_at=stamp,
                    status=result.status,
                    policies=tuple(result.evaluation.policies),
                    findings_count=len(findings),
                    open_count=sum(1 for f in findings if f.status is not FindingStatus.WAIVED),
                    waived_count=sum(1 for f in findings if f.status is FindingStatus.WAIVED),
                    new_count=len(delta.new),
                    reopened_count=len(delta.reopened),
                    resolved_count=len(delta.resolved),
                    deliveries_enqueued=len(deliveries),
                )
            )
            for stored in delta.to_save:
                store.save_finding(stored)
            store.save_waivers_applied(
                run_id,
                [
                    {"fingerprint": fp, "key": w.key, **w.as_mapping()}
                    for fp, w in sorted(applied.covered_by.items())
                ],
            )
            for event in fresh_events:
                store.note_waiver(event.key, event.event, run_id, stamp)
            for name, last_reminder in reminders.items():
                store.save_destination(name, run_id, last_reminder)
            for delivery in deliveries:
                store.enqueue(delivery)
        sent = failures = 0
        if notify:
            from mlgov.delivery.send import send_outbox

            summary = send_outbox(store, config, now=now)
            sent, failures = summary.sent, summary.failed
    finally:
        store.close()

    return LifecycleOutcome(
        findings=findings,
        lifecycle=dict(delta.lifecycle),
        resolved=tuple(sorted(delta.resolved, key=sort_key)),
        expiring_waivers=tuple(_event_mapping(e) for e in events),
        deliveries_sent=sent,
        delivery_failures=failures,
        run_id=run_id,
    )


def new_run_id(now: datetime) -> str:
    """A sortable, unique run id: UTC time plus random bits."""
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def compute_delta(
    previous: Mapping[str, StoredFinding],
    findings: Sequence[Finding],
    coverage: Iterable[tuple[str, str]],
    stamp: str,
    run_id: str,
) -> Delta:
    """Compare the run's findings with the store: new, still open, reopened, resolved."""
    covered = {(p.upper(), s.lower()) for p, s in coverage}
    lifecycle: dict[str, Lifecycle] = {}
    to_save: list[StoredFinding] = []
    new: list[Finding] = []
    reopened: list[Finding] = []
    seen: set[str] = set()
    for f in findings:
        fp = f.fingerprint
        if fp in seen:
            continue
        seen.add(fp)
        prev = previous.get(fp)
        waived = f.status is FindingStatus.WAIVED
        if prev is None:
            label, first_seen, changed, times = "new", stamp, stamp, 0
        elif prev.state == "resolved":
            label, first_seen, changed, times = "reopened", prev.first_seen, stamp, prev.times_reopened + 1
        elif prev.waived and not waived:
            # Hidden by a waiver that has expired or been removed: it shows again.
            label, first_seen, changed, times = "reopened", prev.first_seen, stamp, prev.times_reopened
        else:
            label, first_seen, changed, times = "open", prev.first_seen, prev.changed_at, prev.times_reopened
        lifecycle[fp] = label
        if label == "new":
            new.append(f)
        elif label == "reopened":
            reopened.append(f)
        to_save.append(
            StoredFinding(
                finding=f,
                state="open",
                first_seen=first_seen,
                last_seen=stamp,
                changed_at=changed,
                resolved_at=None,
                times_reopened=times,
                last_run_id=run_id,
            )
        )
    resolved: list[Finding] = []
    notify_resolved: list[Finding] = []
    kept_open: list[StoredFinding] = []
    for fp, prev in previous.items():
        if fp in seen or prev.state != "open":
            continue
        if (prev.finding.policy_id.upper(), prev.finding.scope_id.lower()) in covered:
            resolved.append(prev.finding)
            if not prev.waived:
                notify_resolved.append(prev.finding)
            to_save.append(replace(prev, state="resolved", resolved_at=stamp, changed_at=stamp, last_run_id=run_id))
        else:
            kept_open.append(prev)
    open_after = tuple(s for s in to_save if s.state == "open") + tuple(kept_open)
    return Delta(
        to_save=tuple(to_save),
        lifecycle=lifecycle,
        new=tuple(new),
        reopened=tuple(reopened),
        resolved=tuple(resolved),
        open_after=open_after,
        notify_resolved=tuple(notify_resolved),
    )


def waiver_events(waivers: WaiverSet, applied: Applied, today: date, warn_days: int) -> list[WaiverEvent]:
    """Expired waivers and waivers expiring within `warn_days`, in file order."""
    matched_expired: dict[str, int] = {}
    for w in applied.expired_matches.values():
        matched_expired[w.key] = matched_expired.get(w.key, 0) + 1
    matched_active: dict[str, int] = {}
    for w in applied.covered_by.values():
        matched_active[w.key] = matched_active.get(w.key, 0) + 1
    events: list[WaiverEvent] = []
    for w in waivers:
        kind: Literal["waiver_expired", "waiver_expiring"]
        if w.is_expired(today):
            kind = "waiver_expired"
            count = matched_expired.get(w.key, 0)
        elif w.days_left(today) <= warn_days:
            kind = "waiver_expiring"
            count = matched_active.get(w.key, 0)
        else:
            continue
        events.append(
            WaiverEvent(
                event=kind,
                key=w.key,
                policy=w.policy,
                resource=w.resource,
                owner=w.owner,
                reason=w.reason,
                expires=w.expires.isoformat(),
                days_left=w.days_left(today),
                findings=count,
            )
        )
    return events


def plan_deliveries(
    store: StateStore,
    config: Config,
    snapshot: Snapshot,
    delta: Delta,
    events: Sequence[WaiverEvent],
    now: datetime,
    run_id: str,
    run_status: str,
) -> tuple[list[Delivery], dict[str, str | None]]:
    """The outbox rows owed to each destination, and each destination's new reminder time."""
    names = scope_names(snapshot)
    stamp = ts(now)
    deliveries: list[Delivery] = []
    reminders: dict[str, str | None] = {}
    changed_now = {f.fingerprint for f in (*delta.new, *delta.reopened)}
    for dest in config.notifications.destinations:
        keep = _filter(dest)
        wanted = set(dest.events)
        visible_open = [s.finding for s in delta.open_after if not s.waived and keep(s.finding)]
        template = Digest(
            kind="changed",
            destination=dest.name,
            run_id=run_id,
            run_status=run_status,
            generated_at=now,
            open_by_severity=_by_severity(visible_open),
            waived=sum(1 for s in delta.open_after if s.waived and keep(s.finding)),
            scope_names=names,
            report_url=config.notifications.report_url,
        )
        changed = replace(
            template,
            new=_pick(delta.new, keep) if "new" in wanted else (),
            reopened=_pick(delta.reopened, keep) if "reopened" in wanted else (),
            resolved=_pick(delta.notify_resolved, keep) if "resolved" in wanted else (),
            waiver_events=tuple(e for e in events if e.event in wanted and _policies_overlap(e.policy, dest.policies)),
        )
        if not changed.is_empty:
            deliveries.append(_delivery(changed, dest, run_id, stamp))

        known, last_reminder = store.destination(dest.name)
        reminders[dest.name] = last_reminder
        if dest.reminder_days <= 0:
            continue
        if not known:
            # A destination seen for the first time gets what was already open before it existed.
            due = any(f.fingerprint not in changed_now for f in visible_open)
            reminders[dest.name] = stamp
        else:
            due = last_reminder is None or age_days(last_reminder, now) >= dest.reminder_days - _REMINDER_SLACK_DAYS
            if due:
                reminders[dest.name] = stamp
        if due and visible_open:
            reminder = replace(template, kind="reminder", still_open=tuple(sorted(visible_open, key=sort_key)))
            deliveries.append(_delivery(reminder, dest, run_id, stamp))
    return deliveries, reminders


def scope_names(snapshot: Snapshot) -> dict[str, str]:
    """Lower-cased scope id -> workspace (or registry) name, from the snapshot."""
    names: dict[str, str] = {}
    for w in snapshot.databricks:
        names[w.resource_id.lower()] = w.name
        if w.arm_id:
            names[w.arm_id.lower()] = w.name
    for a in snapshot.aml:
        names[a.resource_id.lower()] = a.name
    for r in snapshot.registries:
        names[r.resource_id.lower()] = r.name
    return names


def delivery_id(run_id: str, destination: str, kind: str) -> str:
    """The stable id of a delivery (the `webhook-id`): the same for every retry, in every run."""
    digest = hashlib.sha256(f"{run_id}|{destination}|{kind}".encode()).hexdigest()
    return f"msg_{digest[:32]}"


def _delivery(digest: Digest, dest: Destination, run_id: str, stamp: str) -> Delivery:
    from mlgov.delivery.send import CONTENT_TYPE, render

    return Delivery(
        delivery_id=delivery_id(run_id, dest.name, digest.kind),
        run_id=run_id,
        destination=dest.name,
        kind=digest.kind,
        content_type=CONTENT_TYPE,
        payload=render(digest, dest).decode("utf-8"),
        created_at=stamp,
    )


def _policies_overlap(waiver_policy: str, patterns: Sequence[str]) -> bool:
    """True when a waiver's policy (id or glob) and a destination's policy filter can meet."""
    if not patterns:
        return True
    return matches_any(waiver_policy, patterns) or any(matches_any(p, [waiver_policy]) for p in patterns)


def _filter(dest: Destination) -> Callable[[Finding], bool]:
    def keep(f: Finding) -> bool:
        return passes_filters(f, min_severity=dest.min_severity, policies=dest.policies, targets=dest.targets)

    return keep


def _pick(findings: Iterable[Finding], keep: Callable[[Finding], bool]) -> tuple[Finding, ...]:
    return tuple(f for f in findings if f.status is not FindingStatus.WAIVED and keep(f))


def _by_severity(findings: Iterable[Finding]) -> dict[str, int]:
    counts = {s.value: 0 for s in sorted(Severity, key=lambda s: -s.rank)}
    for f in findings:
        counts[f.severity.value] += 1
    return counts


def _event_mapping(event: WaiverEvent) -> dict[str, str]:
    return {
        "policy": event.policy,
        "resource": event.resource,
        "owner": event.owner,
        "reason": event.reason,
        "expires": event.expires,
        "days_left": str(event.days_left),
        "state": "expired" if event.event == "waiver_expired" else "expiring",
        "findings": str(event.findings),
    }


def _load_waivers(result: AuditResult, config: Config, today: date) -> WaiverSet:
    if not config.waivers.file:
        return WaiverSet()
    from mlgov.catalogue import load_catalogue

    known = set(result.evaluation.policies) | {p.upper() for p in config.policies.disabled}
    directory = Path(config.policies.directory) if config.policies.directory else None
    known |= set(load_catalogue(directory, require_checks=False))
    return load_waivers(config.waivers.file, catalogue=known, max_days=config.waivers.max_days, today=today)
