"""The state store's schema, as ordered migrations.

`PRAGMA user_version` holds the schema version; migration N (1-based) takes a store from
version N-1 to N. Each runs in its own transaction with the version bump, and is recorded in
`schema_migrations`. A store written by a newer mlgov (a higher version) is refused, never
downgraded.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

from mlgov import __version__
from mlgov.errors import StateStoreError

Migration = Callable[[sqlite3.Connection], None]


def run_script(conn: sqlite3.Connection, script: str) -> None:
    """Execute the statements of `script` one by one, inside the caller's transaction.

    (`executescript` would commit the open transaction first, breaking atomic migrations.)
    """
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            conn.execute(buffer)
            buffer = ""
    if buffer.strip():
        conn.execute(buffer)


def _v1(conn: sqlite3.Connection) -> None:
    run_script(
        conn,
        """
        CREATE TABLE schema_migrations (
          version       INTEGER PRIMARY KEY,
          applied_at    TEXT NOT NULL,
          mlgov_version TEXT NOT NULL
        );
        CREATE TABLE runs (
          run_id              TEXT PRIMARY KEY,
          started_at          TEXT NOT NULL,
          finished_at         TEXT NOT NULL,
          status              TEXT NOT NULL CHECK (status IN ('success', 'partial', 'error')),
          mlgov_version       TEXT NOT NULL,
          policies_json       TEXT NOT NULL,
          findings_count      INTEGER NOT NULL,
          open_count          INTEGER NOT NULL,
          waived_count        INTEGER NOT NULL,
          new_count           INTEGER NOT NULL,
          reopened_count      INTEGER NOT NULL,
          resolved_count      INTEGER NOT NULL,
          deliveries_enqueued INTEGER NOT NULL
        );
        CREATE TABLE findings (
          fingerprint      TEXT PRIMARY KEY,
          policy_id        TEXT NOT NULL,
          resource_id      TEXT NOT NULL,
          resource_kind    TEXT NOT NULL,
          resource_name    TEXT NOT NULL,
          scope_id         TEXT NOT NULL,
          sub_key          TEXT,
          severity         TEXT NOT NULL,
          status           TEXT NOT NULL CHECK (status IN ('fail', 'error', 'waived')),
          title            TEXT NOT NULL,
          message          TEXT NOT NULL,
          evidence_json    TEXT NOT NULL,
          remediation_json TEXT,
          cost_json        TEXT,
          waiver_json      TEXT,
          state            TEXT NOT NULL CHECK (state IN ('open', 'resolved')),
          first_seen       TEXT NOT NULL,
          last_seen        TEXT NOT NULL,
          changed_at       TEXT NOT NULL,
          resolved_at      TEXT,
          times_reopened   INTEGER NOT NULL DEFAULT 0,
          last_run_id      TEXT NOT NULL REFERENCES runs (run_id)
        );
        CREATE INDEX findings_state ON findings (state, severity);
        CREATE INDEX findings_scope ON findings (policy_id, scope_id COLLATE NOCASE);
        CREATE TABLE run_waivers (
          run_id      TEXT NOT NULL REFERENCES runs (run_id),
          fingerprint TEXT NOT NULL,
          waiver_key  TEXT NOT NULL,
          policy      TEXT NOT NULL,
          resource    TEXT NOT NULL,
          owner       TEXT NOT NULL,
          reason      TEXT NOT NULL,
          expires     TEXT NOT NULL,
          PRIMARY KEY (run_id, fingerprint)
        );
        CREATE TABLE waiver_notices (
          waiver_key TEXT NOT NULL,
          event      TEXT NOT NULL CHECK (event IN ('waiver_expired', 'waiver_expiring')),
          run_id     TEXT NOT NULL REFERENCES runs (run_id),
          noticed_at TEXT NOT NULL,
          PRIMARY KEY (waiver_key, event)
        );
        CREATE TABLE destinations (
          name             TEXT PRIMARY KEY,
          first_run_id     TEXT NOT NULL REFERENCES runs (run_id),
          last_reminder_at TEXT
        );
        CREATE TABLE deliveries (
          delivery_id    TEXT PRIMARY KEY,
          run_id         TEXT NOT NULL REFERENCES runs (run_id),
          destination    TEXT NOT NULL,
          kind           TEXT NOT NULL CHECK (kind IN ('changed', 'reminder')),
          content_type   TEXT NOT NULL,
          payload        TEXT NOT NULL,
          payload_sha256 TEXT NOT NULL,
          status         TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'dead')),
          attempts       INTEGER NOT NULL DEFAULT 0,
          last_status    INTEGER,
          last_error     TEXT,
          created_at     TEXT NOT NULL,
          updated_at     TEXT NOT NULL,
          sent_at        TEXT
        );
        CREATE INDEX deliveries_status ON deliveries (status, created_at);
        """
    )


MIGRATIONS: tuple[Migration, ...] = (_v1,)
SCHEMA_VERSION = len(MIGRATIONS)


def current_version(conn: sqlite3.Connection) -> int:
    """The store's schema version (0 for a new, empty file)."""
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection, *, source: str) -> int:
    """Bring the store up to `SCHEMA_VERSION`; return the version it had before.

    The connection must be in autocommit mode (`isolation_level=None`); the caller holds the
    store's lock.
    """
    before = current_version(conn)
    if before > SCHEMA_VERSION:
        raise StateStoreError(
            f"{source}: state store schema version {before} is newer than this mlgov supports "
            f"({SCHEMA_VERSION})",
            hint="Upgrade mlgov, or point state.path at another file.",
        )
    for version in range(before + 1, SCHEMA_VERSION + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[version - 1](conn)
            conn.execute(
                "INSERT INTO schema_migrations (version, applied_at, mlgov_version) VALUES (?, ?, ?)",
                (version, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), __version__),
            )
            conn.execute(f"PRAGMA user_version = {int(version)}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return before

