"""The snapshot: the typed, frozen, versioned inventory of one run.

A snapshot holds everything the policy checks read, and nothing secret. It can be saved
(`audit --save-snapshot`) and evaluated again offline (`audit --from-snapshot`) with no
credentials.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from mlgov import __version__
from mlgov.codec import DecodeError, decode, encode
from mlgov.errors import SnapshotError
from mlgov.fileio import write_atomic
from mlgov.inventory import (
    AmlWorkspace,
    AmlWorkspaceRef,
    ContainerRegistry,
    DatabricksWorkspace,
    RoleAssignment,
    ScopeStatus,
    SubscriptionInfo,
)

SCHEMA_VERSION = 1
KIND = "mlgov.snapshot"


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """Inventory of one run across every plane, with the status of each scope read."""

    taken_at: datetime
    mlgov_version: str = __version__
    scopes: tuple[ScopeStatus, ...] = ()
    subscriptions: tuple[SubscriptionInfo, ...] = ()
    databricks: tuple[DatabricksWorkspace, ...] = ()
    aml: tuple[AmlWorkspace, ...] = ()
    registries: tuple[ContainerRegistry, ...] = ()
    role_assignments: tuple[RoleAssignment, ...] = ()
    known_aml_workspaces: tuple[AmlWorkspaceRef, ...] = ()
    """Every AML workspace the credential could see, audited or not (for MLF-003)."""
    complete_subscriptions: tuple[str, ...] = ()
    """Subscriptions whose workspace listing succeeded: a URI pointing into one of these at a
    workspace absent from `known_aml_workspaces` points at a workspace that does not exist."""
    _failed: frozenset[tuple[str, str]] = field(default=frozenset(), repr=False, compare=False)

    def __post_init__(self) -> None:
        failed = frozenset((s.scope_id.lower(), s.family) for s in self.scopes if not s.ok)
        object.__setattr__(self, "_failed", failed)

    def is_complete(self, scope_id: str, families: Iterable[str]) -> bool:
        """True when the scope and each of the given API families of it were read successfully."""
        key = scope_id.lower()
        if (key, "*") in self._failed:
            return False
        return not any((key, family) in self._failed for family in families)

    @property
    def failed_scopes(self) -> tuple[ScopeStatus, ...]:
        """Scopes that could not be read, in collection order."""
        return tuple(s for s in self.scopes if not s.ok)

    def object_count(self) -> int:
        """How many inventory objects the snapshot holds (for progress and benchmarks)."""
        total = len(self.registries) + len(self.role_assignments)
        for d in self.databricks:
            total += len(d.clusters) + len(d.jobs) + len(d.runs) + len(d.repos)
            total += len(d.experiments) + len(d.tokens) + 1
        for a in self.aml:
            total += len(a.computes) + len(a.jobs) + 1
        return total

    def merged(self, other: Snapshot) -> Snapshot:
        """This snapshot with another's workspaces and scopes appended (used by shards)."""
        return replace(
            self,
            scopes=self.scopes + other.scopes,
            subscriptions=self.subscriptions + other.subscriptions,
            databricks=self.databricks + other.databricks,
            aml=self.aml + other.aml,
            registries=self.registries + other.registries,
            role_assignments=self.role_assignments + other.role_assignments,
            known_aml_workspaces=self.known_aml_workspaces + other.known_aml_workspaces,
            complete_subscriptions=self.complete_subscriptions + other.complete_subscriptions,
        )


def to_dict(snapshot: Snapshot) -> dict[str, object]:
    """The snapshot as a JSON-ready dict with its kind and schema version first."""
    body = encode(snapshot)
    body.pop("_failed", None)
    return {"kind": KIND, "schema_version": SCHEMA_VERSION, **body}


def from_dict(data: object, *, source: str = "snapshot") -> Snapshot:
    """Rebuild a snapshot from `to_dict` output, refusing unknown kinds and versions."""
    if not isinstance(data, dict):
        raise SnapshotError(f"{source}: not a snapshot (expected a JSON object)")
    if data.get("kind") != KIND:
        raise SnapshotError(
            f"{source}: not an mlgov snapshot (kind is {data.get('kind')!r})",
            hint="Pass a file written by `mlgov audit --save-snapshot FILE`.",
        )
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise SnapshotError(
            f"{source}: snapshot schema version {version!r} is not supported "
            f"(this mlgov reads version {SCHEMA_VERSION})",
            hint="Save the snapshot again with this version of mlgov.",
        )
    body = {k: v for k, v in data.items() if k not in ("kind", "schema_version")}
    try:
        return decode(Snapshot, body)
    except DecodeError as exc:
        raise SnapshotError(
            f"{source}: malformed snapshot at {exc.path}: {exc}",
            hint="The file may have been edited by hand or truncated; save it again.",
        ) from exc


def save(snapshot: Snapshot, path: Path | str) -> None:
    """Write the snapshot as JSON, atomically."""
    text = json.dumps(to_dict(snapshot), separators=(",", ":"), ensure_ascii=False)
    write_atomic(path, text + "\n")


def load(path: Path | str) -> Snapshot:
    """Read a snapshot written by `save`, with errors that name the file."""
    p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SnapshotError(f"{p}: no such snapshot file") from exc
    except OSError as exc:
        raise SnapshotError(f"{p}: cannot read snapshot ({exc.strerror})") from exc
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SnapshotError(
            f"{p}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            hint="The file may be truncated; save the snapshot again.",
        ) from exc
    return from_dict(data, source=str(p))
