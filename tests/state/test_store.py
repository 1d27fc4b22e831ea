"""The state store: migrations, refusal of unknown files and versions, round trips, the lock."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from lifecycle_support import finding
from mlgov.errors import StateStoreError
from mlgov.state.schema import SCHEMA_VERSION
from mlgov.state.store import RunRecord, StateStore, StoredFinding, open_readonly


def test_new_store_is_migrated_to_the_current_version(tmp_path: Path) -> None:
    """Opening a new file creates every table and records the schema version."""
    db = tmp_path / "sub" / "state.db"
    with StateStore.open(db) as store:
        version = store.conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        applied = store.conn.execute("SELECT version FROM schema_migrations").fetchall()
        mode = store.conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert version == SCHEMA_VERSION
    assert {"runs", "findings", "run_waivers", "deliveries", "destinations", "waiver_notices"} <= tables
    assert [tuple(r) for r in applied] == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
    assert mode == "delete"
    with StateStore.open(db):  # opening again migrates nothing and keeps the data
        pass


def test_store_from_a_newer_mlgov_is_refused(tmp_path: Path) -> None:
    """A file with a higher schema version is never touched."""
    db = tmp_path / "state.db"
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StateStoreError, match="newer than this mlgov supports"):
        StateStore.open(db)
    with pytest.raises(StateStoreError, match="schema version") as caught:
        open_readonly(db)
    assert caught.value.hint == "Upgrade mlgov."


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    """A random file at state.path gives a clear error instead of a traceback."""
    db = tmp_path / "state.db"
    db.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateStoreError, match="not a usable mlgov state store"):
        StateStore.open(db)


def test_reading_a_missing_store_says_how_to_create_one(tmp_path: Path) -> None:
    """open_readonly never creates a file and points at `mlgov audit`."""
    with pytest.raises(StateStoreError) as caught:
        open_readonly(tmp_path / "nope.db")
    assert "no state store here" in str(caught.value)
    assert caught.value.hint and "mlgov audit" in caught.value.hint
    assert not (tmp_path / "nope.db").exists()


def test_findings_round_trip_with_evidence_cost_and_waiver(tmp_path: Path) -> None:
    """A saved finding comes back equal, evidence, remediation, cost and waiver included."""
    f = finding("CST-001", "a", cost=12.5, evidence={"nested": {"k": [1, "two"]}, "n": 3})
    waived = f.__class__(**{**{s: getattr(f, s) for s in f.__slots__}, "waiver": {"owner": "x", "reason": "y"}})
    with StateStore.open(tmp_path / "state.db") as store, store.transaction():
        store.save_run(
            RunRecord(
                run_id="r1", started_at="2026-11-02T06:00:00Z", finished_at="2026-11-02T06:01:00Z", status="success",
                policies=("CST-001",), findings_count=1, open_count=1, waived_count=0, new_count=1,
                reopened_count=0, resolved_count=0, deliveries_enqueued=0,
            )
        )
        stored = StoredFinding(
            finding=waived, state="open", first_seen="2026-11-02T06:01:00Z", last_seen="2026-11-02T06:01:00Z",
            changed_at="2026-11-02T06:01:00Z", last_run_id="r1",
        )
        store.save_finding(stored)
        assert store.all_findings() == {f.fingerprint: stored}
        assert [r.run_id for r in store.runs()] == ["r1"]


def test_rolled_back_transaction_writes_nothing(tmp_path: Path) -> None:
    """An exception inside a transaction leaves the store as it was."""
    with StateStore.open(tmp_path / "state.db") as store:
        with pytest.raises(KeyError), store.transaction() as conn:
            conn.execute("INSERT INTO schema_migrations VALUES (99, 'now', 'test')")
            raise KeyError("boom")
        assert store.conn.execute("SELECT COUNT(*) FROM schema_migrations WHERE version = 99").fetchone()[0] == 0


def test_lock_is_released_on_close(tmp_path: Path) -> None:
    """After a store is closed another one opens at once; while open, a second open times out."""
    db = tmp_path / "state.db"
    first = StateStore.open(db)
    with pytest.raises(StateStoreError, match=r"another mlgov audit .*pid \d+ on host"):
        StateStore.open(db, lock_timeout=0.1)
    first.close()
    StateStore.open(db, lock_timeout=0).close()


def test_wal_mode_can_be_chosen(tmp_path: Path) -> None:
    """journal_mode: wal is applied when asked (for local disks)."""
    with StateStore.open(tmp_path / "state.db", journal_mode="wal") as store:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
