"""Targets: the workspaces one run audits, from the config and from ARM discovery."""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mlgov.config import DatabricksAuth
from mlgov.errors import UsageError


@dataclass(frozen=True, slots=True)
class DatabricksTarget:
    """A Databricks workspace to audit."""

    host: str
    name: str
    auth: DatabricksAuth
    arm_id: str | None = None
    location: str | None = None
    pricing_tier: str | None = None
    subscription_id: str | None = None

    @property
    def resource_id(self) -> str:
        """`databricks://<host without scheme>`."""
        return "databricks://" + self.host.split("://", 1)[-1].lower()

    @property
    def key(self) -> str:
        """Stable identity for sharding and de-duplication."""
        return self.resource_id


@dataclass(frozen=True, slots=True)
class AmlTarget:
    """An AML workspace to audit, found through ARM."""

    resource_id: str
    name: str
    subscription_id: str
    resource_group: str
    location: str | None = None

    @property
    def key(self) -> str:
        """Stable identity for sharding and de-duplication."""
        return self.resource_id.lower()


Target = DatabricksTarget | AmlTarget


def target_names(target: Target) -> tuple[str, ...]:
    """Every name `--target` may use for this target."""
    names = [target.name, target.resource_id]
    if isinstance(target, DatabricksTarget):
        names += [target.host, target.host.split("://", 1)[-1]]
        if target.arm_id:
            names.append(target.arm_id)
        if target.subscription_id:
            names.append(target.subscription_id)
    else:
        names.append(target.subscription_id)
    return tuple(n.lower() for n in names if n)


def select_targets(targets: Sequence[Target], patterns: Iterable[str]) -> list[Target]:
    """Targets matching any `--target` pattern (glob on name, host, ARM id or subscription)."""
    pats = [p.lower() for p in patterns]
    if not pats:
        return list(targets)
    chosen = [t for t in targets if any(fnmatch.fnmatch(n, p) for n in target_names(t) for p in pats)]
    if not chosen:
        known = ", ".join(sorted({t.name for t in targets})) or "none"
        raise UsageError(
            f"--target {' '.join(patterns)} matches no target",
            hint=f"Targets in this config: {known}.",
        )
    return chosen


def parse_shard(text: str) -> tuple[int, int]:
    """Parse `I/N` (1-based) into (index, count)."""
    try:
        left, right = text.split("/", 1)
        index, count = int(left), int(right)
    except ValueError:
        raise UsageError(f"--shard {text!r}: expected I/N, e.g. 1/4") from None
    if count < 1 or not 1 <= index <= count:
        raise UsageError(f"--shard {text!r}: I must be between 1 and N, and N at least 1")
    return index, count


def in_shard(key: str, index: int, count: int) -> bool:
    """Whether a target with this key belongs to shard `index` of `count` (stable hashing)."""
    digest = hashlib.sha256(key.lower().encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count == index - 1
