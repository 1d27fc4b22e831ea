"""The SQLite state store: findings across runs, the runs themselves, waivers applied, the outbox.

Concurrency: an audit holds an exclusive lock on `<store>.lock` (flock) for its whole
record-and-send, and writes in `BEGIN IMMEDIATE` transactions with a busy timeout. A second
audit waits up to `lock_timeout` seconds, then fails with a `StateStoreError` naming the
holder (pid, host, start time, written into the lock file). The kernel releases the lock when
a process dies, so a crash never leaves a stale lock.

Durability: everything a run changes (findings, run row, waivers applied, outbox rows) is
written in one transaction; a crash before its COMMIT leaves the previous state intact.

Journal mode: DELETE by default; WAL only on a local disk (never on SMB/NFS, where SQLite's
shared-memory locking does not work).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import sqlite3
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlgov import __version__
from mlgov.codec import decode, encode, parse_time
from mlgov.errors import StateStoreError
from mlgov.findings import CostEstimate, Finding, FindingStatus, Remediation, Severity
from mlgov.state.schema import SCHEMA_VERSION, current_version, migrate

_POLL_SECONDS = 0.05


def ts(value: datetime) -> str:
    """Timestamps as stored: UTC, to the second, with a `Z` (they sort as text)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredFinding:
    """A finding as the store knows it: the last version seen plus its history."""

    finding: Finding
    state: str
    """`open` or `resolved`."""
    first_seen: str
    last_seen: str
    changed_at: str
    """When it was first seen, last reopened or resolved."""
    resolved_at: str | None = None
    times_reopened: int = 0
    last_run_id: str = ""

    @property
    def fingerprint(self) -> str:
        """The finding's stable fingerprint."""
        return self.finding.fingerprint

    @property
    def waived(self) -> bool:
        """True when a waiver covered it when it was last seen."""
        return self.finding.waiver is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """One outbox row: one POST to one destination, with a stable id (the `webhook-id`)."""

    delivery_id: str
    run_id: str
    destination: str
    kind: str
    content_type: str
    payload: str
    status: str = "pending"
    attempts: int = 0
    last_status: int | None = None
    last_error: str | None = None
    created_at: str = ""
    updated_at: str = ""
    sent_at: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """A row of the `runs` table."""

    run_id: str
    started_at: str
    finished_at: str
    status: str
    policies: tuple[str, ...]
    findings_count: int
    open_count: int
    waived_count: int
    new_count: int
    reopened_count: int
    resolved_count: int
    deliveries_enqueued: int
    mlgov_version: str = field(default="")


class _FileLock:
    """An exclusive advisory lock on `<store>.lock`, holding who took it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, timeout: float, *, store: Path) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        while True:
            if _try_lock(fd):
                break
            if time.monotonic() >= deadline:
                holder = self.holder()
                os.close(fd)
                raise StateStoreError(
                    f"{store}: another mlgov audit is using the state store ({holder}); "
                    f"waited {timeout:g} s",
                    hint="Wait for it to finish (or stop it), or raise state.lock_timeout_seconds. "
                    "Scheduled runs should not overlap (Kubernetes: concurrencyPolicy: Forbid).",
                )
            time.sleep(_POLL_SECONDS)
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": ts(datetime.now(UTC)),
            "command": " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv[:3])),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode("utf-8"), 0)
        self._fd = fd

    def holder(self) -> str:
        try:
            info = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return "holder unknown"
        if not isinstance(info, dict) or "pid" not in info:
            return "holder unknown"
        return f"pid {info.get('pid')} on host {info.get('host')}, started {info.get('started_at')}"

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            _unlock(self._fd)
            os.close(self._fd)
            self._fd = None


if sys.platform != "win32":
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

else:  # pragma: no cover - Windows relies on SQLite's own locking only

    def _try_lock(fd: int) -> bool:
        return True

    def _unlock(fd: int) -> None:
        return None


class StateStore:
    """An open, locked, migrated state store. Use `StateStore.open(...)` as a context manager."""

    def __init__(self, path: Path, conn: sqlite3.Connection, lock: _FileLock | None) -> None:
        self.path = path
        self.conn = conn
        self._lock = lock

    @classmethod
    def open(
        cls,
        path: Path | str,
        *,
        lock_timeout: float = 60.0,
        journal_mode: str = "delete",
    ) -> StateStore:
        """Lock, open (creating the file if needed) and migrate the store at `path`."""
        p = Path(path)
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateStoreError(f"{p}: cannot create the state store's directory ({exc.strerror})") from exc
        lock = _FileLock(p.with_name(p.name + ".lock"))
        try:
            lock.acquire(lock_timeout, store=p)
        except OSError as exc:
            raise StateStoreError(f"{p}: cannot create the lock file ({exc.strerror})") from exc
        try:
            conn = sqlite3.connect(p, timeout=max(lock_timeout, 1.0), isolation_level=None)
        except sqlite3.Error as exc:
            lock.release()
            raise StateStoreError(f"{p}: cannot open the state store ({exc})") from exc
        conn.row_factory = sqlite3.Row
        store = cls(p, conn, lock)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(max(lock_timeout, 1.0) * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            mode = "WAL" if journal_mode.lower() == "wal" else "DELETE"
            conn.execute(f"PRAGMA journal_mode = {mode}")
            migrate(conn, source=str(p))
        except sqlite3.DatabaseError as exc:
            store.close()
            raise StateStoreError(
                f"{p}: not a usable mlgov state store ({exc})",
                hint="Point state.path at another file, or move this one aside to start afresh.",
            ) from exc
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        """Close the connection and release the lock."""
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """`BEGIN IMMEDIATE` ... `COMMIT`, rolled back on any exception."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StateStoreError(
                f"{self.path}: the state store is busy ({exc})",
                hint="Another process writes to it; wait for it to finish.",
            ) from exc
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # --- findings -------------------------------------------------------------------------

    def all_findings(self) -> dict[str, StoredFinding]:
        """Every finding the store knows, by fingerprint."""
        found = (row_to_finding(r) for r in self.conn.execute("SELECT * FROM findings"))
        return {f.fingerprint: f for f in found}

    def save_finding(self, stored: StoredFinding) -> None:
        """Insert or replace one finding."""
        f = stored.finding
        self.conn.execute(
            """
            INSERT OR REPLACE INTO findings (
              fingerprint, policy_id, resource_id, resource_kind, resource_name, scope_id, sub_key,
              severity, status, title, message, evidence_json, remediation_json, cost_json,
              waiver_json, state, first_seen, last_seen, changed_at, resolved_at, times_reopened,
              last_run_id
            ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            (
                f.fingerprint,
                f.policy_id,
                f.resource_id,
                f.resource_kind,
                f.resource_name,
                f.scope_id,
                f.sub_key,
                f.severity.value,
                f.status.value,
                f.title,
                f.message,
                _json(encode(f.evidence)),
                _json(encode(f.remediation)) if f.remediation else None,
                _json(encode(f.cost)) if f.cost else None,
                _json(dict(f.waiver)) if f.waiver else None,
                stored.state,
                stored.first_seen,
                stored.last_seen,
                stored.changed_at,
                stored.resolved_at,
                stored.times_reopened,
                stored.last_run_id,
            ),
        )

    # --- runs -----------------------------------------------------------------------------

    def save_run(self, run: RunRecord) -> None:
        """Insert the row of a run."""
        self.conn.execute(
            """
            INSERT INTO runs (run_id, started_at, finished_at, status, mlgov_version, policies_json,
              findings_count, open_count, waived_count, new_count, reopened_count, resolved_count,
              deliveries_enqueued)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            (
                run.run_id,
                run.started_at,
                run.finished_at,
                run.status,
                run.mlgov_version or __version__,
                _json(list(run.policies)),
                run.findings_count,
                run.open_count,
                run.waived_count,
                run.new_count,
                run.reopened_count,
                run.resolved_count,
                run.deliveries_enqueued,
            ),
        )

    def runs(self) -> list[RunRecord]:
        """Every run, oldest first."""
        return [row_to_run(r) for r in self.conn.execute("SELECT * FROM runs ORDER BY finished_at, rowid")]

    def save_waivers_applied(self, run_id: str, rows: Sequence[Mapping[str, str]]) -> None:
        """Record which waiver covered which finding in this run."""
        self.conn.executemany(
            """
            INSERT INTO run_waivers (run_id, fingerprint, waiver_key, policy, resource, owner, reason, expires)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                (run_id, r["fingerprint"], r["key"], r["policy"], r["resource"], r["owner"], r["reason"], r["expires"])
                for r in rows
            ],
        )

    # --- waiver notices, destinations -----------------------------------------------------

    def waiver_noticed(self, key: str, event: str) -> bool:
        """True when this waiver event was already announced."""
        row = self.conn.execute(
            "SELECT 1 FROM waiver_notices WHERE waiver_key = ? AND event = ?", (key, event)
        ).fetchone()
        return row is not None

    def note_waiver(self, key: str, event: str, run_id: str, when: str) -> None:
        """Remember that a waiver event was announced."""
        self.conn.execute(
            "INSERT OR IGNORE INTO waiver_notices (waiver_key, event, run_id, noticed_at) VALUES (?, ?, ?, ?)",
            (key, event, run_id, when),
        )

    def destination(self, name: str) -> tuple[bool, str | None]:
        """(known, last reminder time) of a destination."""
        row = self.conn.execute("SELECT last_reminder_at FROM destinations WHERE name = ?", (name,)).fetchone()
        return (row is not None, row[0] if row else None)

    def save_destination(self, name: str, run_id: str, last_reminder_at: str | None) -> None:
        """Create or update a destination's reminder bookkeeping."""
        self.conn.execute(
            """
            INSERT INTO destinations (name, first_run_id, last_reminder_at) VALUES (?, ?, ?)
            ON CONFLICT (name) DO UPDATE SET last_reminder_at = excluded.last_reminder_at
            """,
            (name, run_id, last_reminder_at),
        )

    # --- outbox ---------------------------------------------------------------------------

    def enqueue(self, delivery: Delivery) -> None:
        """Add a delivery to the outbox (a delivery with the same id is kept as it is)."""
        self.conn.execute(
            """
            INSERT OR IGNORE INTO deliveries (delivery_id, run_id, destination, kind, content_type, payload,
              payload_sha256, status, attempts, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)
            """,
            (
                delivery.delivery_id,
                delivery.run_id,
                delivery.destination,
                delivery.kind,
                delivery.content_type,
                delivery.payload,
                hashlib.sha256(delivery.payload.encode("utf-8")).hexdigest(),
                delivery.created_at,
                delivery.created_at,
            ),
        )

    def unsent(self) -> list[Delivery]:
        """Deliveries still to send (pending or failed), oldest first."""
        rows = self.conn.execute(
            "SELECT * FROM deliveries WHERE status IN ('pending', 'failed') ORDER BY created_at, rowid"
        ).fetchall()
        return [row_to_delivery(r) for r in rows]

    def deliveries(self) -> list[Delivery]:
        """Every delivery, oldest first."""
        rows = self.conn.execute("SELECT * FROM deliveries ORDER BY created_at, rowid").fetchall()
        return [row_to_delivery(r) for r in rows]

    def mark_delivery(
        self,
        delivery_id: str,
        *,
        status: str,
        attempts: int,
        last_status: int | None,
        last_error: str | None,
        when: str,
    ) -> None:
        """Record the outcome of sending a delivery, in its own transaction."""
        with self.transaction() as conn:
            conn.execute(
                """
                UPDATE deliveries SET status = ?, attempts = attempts + ?, last_status = ?, last_error = ?,
                  updated_at = ?, sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END
                WHERE delivery_id = ?
                """,
                (status, attempts, last_status, last_error, when, status, when, delivery_id),
            )


# --- reading -------------------------------------------------------------------------------


def open_readonly(path: Path | str) -> sqlite3.Connection:
    """Open an existing store for reading (no lock, no migration, never creates the file)."""
    p = Path(path)
    if not p.is_file():
        raise StateStoreError(
            f"{p}: no state store here",
            hint="Run `mlgov audit --config FILE` first (it creates the store at state.path), or pass --state FILE.",
        )
    try:
        conn = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True, timeout=10.0)
        conn.row_factory = sqlite3.Row
        version = current_version(conn)
    except sqlite3.DatabaseError as exc:
        raise StateStoreError(f"{p}: not a readable mlgov state store ({exc})") from exc
    if version != SCHEMA_VERSION:
        conn.close()
        newer = version > SCHEMA_VERSION
        raise StateStoreError(
            f"{p}: state store schema version {version}, this mlgov reads version {SCHEMA_VERSION}",
            hint="Upgrade mlgov." if newer else "Run `mlgov audit` once with this version to migrate it.",
        )
    return conn


def row_to_finding(row: sqlite3.Row) -> StoredFinding:
    """Rebuild a stored finding from a `SELECT * FROM findings` row."""
    remediation = decode(Remediation, json.loads(row["remediation_json"])) if row["remediation_json"] else None
    cost = decode(CostEstimate, json.loads(row["cost_json"])) if row["cost_json"] else None
    waiver = json.loads(row["waiver_json"]) if row["waiver_json"] else None
    finding = Finding(
        policy_id=row["policy_id"],
        title=row["title"],
        severity=Severity(row["severity"]),
        status=FindingStatus(row["status"]),
        resource_id=row["resource_id"],
        resource_kind=row["resource_kind"],
        resource_name=row["resource_name"],
        scope_id=row["scope_id"],
        message=row["message"],
        sub_key=row["sub_key"],
        evidence=json.loads(row["evidence_json"]),
        remediation=remediation,
        cost=cost,
        waiver={str(k): str(v) for k, v in waiver.items()} if waiver else None,
    )
    return StoredFinding(
        finding=finding,
        state=row["state"],
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        changed_at=row["changed_at"],
        resolved_at=row["resolved_at"],
        times_reopened=row["times_reopened"],
        last_run_id=row["last_run_id"],
    )


def row_to_run(row: sqlite3.Row) -> RunRecord:
    """Rebuild a run record from a `SELECT * FROM runs` row."""
    return RunRecord(
        run_id=row["run_id"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        status=row["status"],
        policies=tuple(json.loads(row["policies_json"])),
        findings_count=row["findings_count"],
        open_count=row["open_count"],
        waived_count=row["waived_count"],
        new_count=row["new_count"],
        reopened_count=row["reopened_count"],
        resolved_count=row["resolved_count"],
        deliveries_enqueued=row["deliveries_enqueued"],
        mlgov_version=row["mlgov_version"],
    )


def row_to_delivery(row: sqlite3.Row) -> Delivery:
    """Rebuild a delivery from a `SELECT * FROM deliveries` row."""
    return Delivery(
        delivery_id=row["delivery_id"],
        run_id=row["run_id"],
        destination=row["destination"],
        kind=row["kind"],
        content_type=row["content_type"],
        payload=row["payload"],
        status=row["status"],
        attempts=row["attempts"],
        last_status=row["last_status"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        sent_at=row["sent_at"],
    )


def age_days(stamp: str, now: datetime) -> float:
    """Days between a stored timestamp and `now`."""
    return (now - parse_time(stamp)).total_seconds() / 86400.0


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
