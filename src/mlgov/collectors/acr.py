"""Container registry collector: SKU and storage used of the registries AML workspaces use.

Registries are found from the workspaces' `containerRegistry` ids, grouped so that a registry
shared by several workspaces is read once. The registry may sit in another subscription (or
resource group) than its workspaces: the client is the registry's subscription's.

Per registry, two GETs with azure-mgmt-containerregistry: `registries.get` (SKU, region) and
`registries.list_usages` (`Size`: bytes used, and `limit`, the storage the SKU includes).

Outcomes:
- a workspace without a registry (AML creates it lazily on the first image build): nothing
  to read;
- a registry that no longer exists (404): a fact, recorded as `exists=False` with an ok
  status; a workspace pointing at a deleted registry is not an audit failure;
- any other error (403...): a failed `ScopeStatus` (`scope_kind="registry"`), and no record,
  since nothing is known about the registry.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from mlgov.context import AuditContext
from mlgov.inventory import AmlWorkspace, ContainerRegistry, ScopeStatus

SCOPE_KIND = "registry"
FAMILY = "registry"


@dataclass(frozen=True, slots=True)
class _RegistryRef:
    resource_id: str
    subscription_id: str
    resource_group: str
    name: str
    used_by: tuple[str, ...]


def collect_registries(
    ctx: AuditContext, aml_workspaces: list[AmlWorkspace]
) -> tuple[list[ContainerRegistry], list[ScopeStatus]]:
    """Read every registry the workspaces point at (once each, in its own subscription)."""
    refs, statuses = _group(aml_workspaces)
    if not refs:
        return [], statuses
    workers = max(1, min(ctx.config.collection.concurrency.arm, len(refs)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mlgov-acr") as pool:
        results = list(pool.map(lambda r: _read(ctx, r), refs))
    registries = [reg for reg, _ in results if reg is not None]
    statuses.extend(status for _, status in results)
    return registries, statuses


def _group(workspaces: list[AmlWorkspace]) -> tuple[list[_RegistryRef], list[ScopeStatus]]:
    from mlgov.collectors.azure_common import parse_arm_id

    by_id: dict[str, tuple[str, list[str]]] = {}
    statuses: list[ScopeStatus] = []
    for ws in workspaces:
        if not ws.registry_id:
            continue
        key = ws.registry_id.lower().rstrip("/")
        entry = by_id.setdefault(key, (ws.registry_id.rstrip("/"), []))
        entry[1].append(ws.resource_id)
    refs: list[_RegistryRef] = []
    for registry_id, used_by in by_id.values():
        parts = parse_arm_id(registry_id)
        sub, rg, name = parts.get("subscription"), parts.get("resource_group"), parts.get("name")
        if not sub or not rg or not name:
            statuses.append(
                ScopeStatus(
                    scope_id=registry_id,
                    scope_kind=SCOPE_KIND,
                    family=FAMILY,
                    ok=False,
                    error=f"not a container registry ARM id: {registry_id!r}",
                    hint="The workspace's containerRegistry property is malformed; check it in the portal.",
                )
            )
            continue
        refs.append(_RegistryRef(registry_id, sub, rg, name, tuple(sorted(set(used_by)))))
    return refs, statuses


def _read(ctx: AuditContext, ref: _RegistryRef) -> tuple[ContainerRegistry | None, ScopeStatus]:
    from mlgov.collectors.azure_common import AZURE_ERRORS, failed_scope, is_status

    calls = 0
    try:
        client = ctx.acr_client(ref.subscription_id)
        calls += 1
        registry = client.registries.get(ref.resource_group, ref.name)
    except AZURE_ERRORS as exc:
        if is_status(exc, 404):
            missing = ContainerRegistry(resource_id=ref.resource_id, name=ref.name, exists=False, used_by=ref.used_by)
            return missing, _ok(ref, calls)
        return None, failed_scope(exc, scope_id=ref.resource_id, scope_kind=SCOPE_KIND, family=FAMILY, calls=calls)

    sku = _text(getattr(getattr(registry, "sku", None), "name", None))
    record = ContainerRegistry(
        resource_id=_text(getattr(registry, "id", None)) or ref.resource_id,
        name=_text(getattr(registry, "name", None)) or ref.name,
        exists=True,
        sku=sku,
        location=_text(getattr(registry, "location", None)),
        used_by=ref.used_by,
    )
    try:
        calls += 1
        usages = client.registries.list_usages(ref.resource_group, ref.name)
    except AZURE_ERRORS as exc:
        # The SKU is known, the size is not: keep the record, say the family failed.
        status = failed_scope(exc, scope_id=ref.resource_id, scope_kind=SCOPE_KIND, family=FAMILY, calls=calls)
        return record, status
    size = _size_usage(getattr(usages, "value", None) or [])
    if size is not None:
        from dataclasses import replace

        record = replace(record, size_bytes=size[0], included_bytes=size[1])
    return record, _ok(ref, calls)


def _size_usage(usages: list[Any]) -> tuple[int | None, int | None] | None:
    for usage in usages:
        if (_text(getattr(usage, "name", None)) or "").lower() == "size":
            return _int(getattr(usage, "current_value", None)), _int(getattr(usage, "limit", None))
    return None


def _ok(ref: _RegistryRef, calls: int) -> ScopeStatus:
    return ScopeStatus(scope_id=ref.resource_id, scope_kind=SCOPE_KIND, family=FAMILY, ok=True, calls=calls)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(getattr(value, "value", value))
    return text or None


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


__all__ = ["collect_registries"]
