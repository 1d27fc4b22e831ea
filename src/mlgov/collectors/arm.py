"""ARM discovery: which subscriptions, AML workspaces and Databricks workspaces to audit.

Calls, all GETs through `AuditContext` clients (so they honour the configured cloud, retry
429/5xx with Retry-After, and never POST a provider registration):

- subscriptions: the configured list, else `GET /subscriptions?api-version=2022-12-01` through
  the ARM pipeline. azure-mgmt-resource 26 moved the subscription client to a separate package
  (`azure-mgmt-resource-subscriptions`); one generic GET does the same job without another
  dependency, with the same pipeline as every other call.
- per subscription, two provider list calls that already return each workspace's properties,
  so there is no per-workspace GET (no N+1):
  `GET /subscriptions/{s}/providers/Microsoft.MachineLearningServices/workspaces?api-version=2025-09-01`
  (kind, location, tags) and
  `GET /subscriptions/{s}/providers/Microsoft.Databricks/workspaces?api-version=2024-05-01`
  (`properties.workspaceUrl`, `sku.name`). `resources.list(filter=...)` would need a GET per
  Databricks workspace to learn its URL.

AML workspace kinds: only `Default` workspaces (and those with no kind) become targets.
Hubs and projects (Azure AI Foundry) and feature stores share the resource type but not the
shape: a hub holds no jobs of its own and refuses some job APIs, a project's registry and
computes live on its hub. They are still recorded in `known_aml_workspaces`, so an MLflow
URI pointing at one of them is not reported as dangling (MLF-003).

Filters (`azure.filters`) narrow targets only: resource groups (case-insensitive), tags (every
given tag must be present with that value, keys case-insensitive; the value `*` means any
value), names (globs, case-insensitive). Every visible AML workspace, filtered out or not, goes
into `known_aml_workspaces`; a subscription whose AML listing succeeded goes into
`complete_subscriptions`. A subscription that cannot be read becomes a failed `ScopeStatus`
(AUD-001) and the others go on.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from mlgov.audit import Discovery
from mlgov.config import AzureFilters, DatabricksAuth
from mlgov.context import AuditContext
from mlgov.inventory import AmlWorkspaceRef, ScopeStatus, SubscriptionInfo
from mlgov.progress import NullProgress, ProgressListener
from mlgov.targets import AmlTarget, DatabricksTarget, Target

API_SUBSCRIPTIONS = "2022-12-01"
API_AML_WORKSPACES = "2025-09-01"
API_DATABRICKS_WORKSPACES = "2024-05-01"
AML_PROVIDER = "Microsoft.MachineLearningServices/workspaces"
DATABRICKS_PROVIDER = "Microsoft.Databricks/workspaces"
AUDITED_AML_KINDS = frozenset({"", "default"})
INACTIVE_SUBSCRIPTION_STATES = frozenset({"disabled", "deleted"})
UNREGISTERED_PROVIDER_CODES = frozenset({"missingsubscriptionregistration"})
"""A 409 with this code means the resource provider is not registered in the subscription:
it holds no workspace of that type. That is a fact, not a failure (and never a reason to POST
a registration)."""


@dataclass(slots=True)
class _SubscriptionResult:
    targets: list[Target] = field(default_factory=list)
    known: list[AmlWorkspaceRef] = field(default_factory=list)
    complete: bool = False
    scopes: list[ScopeStatus] = field(default_factory=list)


def discover(ctx: AuditContext, listener: ProgressListener | None = None) -> Discovery:
    """Find the subscriptions, AML workspaces and Databricks workspaces to audit.

    Subscriptions are read concurrently (within the `arm` limiter), and in each one the AML
    and Databricks provider lists too; `listener` hears of each subscription as a scope.
    """
    from mlgov.collectors.azure_common import AZURE_ERRORS, failed_scope

    progress = listener or NullProgress()

    azure = ctx.config.azure
    if azure is None:
        return Discovery()
    scopes: list[ScopeStatus] = []
    if azure.subscriptions:
        subscriptions = [SubscriptionInfo(subscription_id=s.lower()) for s in _unique(azure.subscriptions)]
    else:
        try:
            subscriptions, calls = _visible_subscriptions(ctx)
        except AZURE_ERRORS as exc:
            scopes.append(failed_scope(exc, scope_id="/", scope_kind="tenant", family="subscriptions"))
            return Discovery(scopes=tuple(scopes))
        scopes.append(ScopeStatus(scope_id="/", scope_kind="tenant", family="subscriptions", ok=True, calls=calls))

    workers = max(1, min(ctx.config.collection.concurrency.arm, len(subscriptions)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mlgov-arm") as pool:
        results = list(pool.map(lambda s: _discover_subscription(ctx, s.subscription_id, progress), subscriptions))

    targets: list[Target] = []
    known: list[AmlWorkspaceRef] = []
    complete: list[str] = []
    for sub, result in zip(subscriptions, results, strict=True):
        targets.extend(result.targets)
        known.extend(result.known)
        scopes.extend(result.scopes)
        if result.complete:
            complete.append(sub.subscription_id)
    return Discovery(
        subscriptions=tuple(subscriptions),
        targets=tuple(targets),
        known_aml_workspaces=tuple(known),
        complete_subscriptions=tuple(complete),
        scopes=tuple(scopes),
    )


def _visible_subscriptions(ctx: AuditContext) -> tuple[list[SubscriptionInfo], int]:
    from mlgov.collectors.azure_common import arm_pages

    client = ctx.arm_tenant_client()
    url = f"{ctx.cloud.arm_endpoint.rstrip('/')}/subscriptions?api-version={API_SUBSCRIPTIONS}"
    found: list[SubscriptionInfo] = []
    calls = 0
    for page in arm_pages(client.send_request, url):
        calls += 1
        for sub in page:
            sub_id = str(sub.get("subscriptionId") or "").lower()
            if not sub_id or str(sub.get("state") or "").lower() in INACTIVE_SUBSCRIPTION_STATES:
                continue
            found.append(
                SubscriptionInfo(
                    subscription_id=sub_id,
                    name=_str(sub.get("displayName")),
                    tenant_id=_str(sub.get("tenantId")),
                )
            )
    return found, calls


def _discover_subscription(ctx: AuditContext, subscription_id: str, listener: ProgressListener) -> _SubscriptionResult:
    from mlgov.collectors.azure_common import AZURE_ERRORS, arm_pages, error_facts, failed_scope

    azure = ctx.config.azure
    assert azure is not None
    scope_id = f"/subscriptions/{subscription_id}"
    listener.scope_started(scope_id, f"subscription {subscription_id}")
    result = _SubscriptionResult()
    client = ctx.arm_client(subscription_id)
    base = f"{ctx.cloud.arm_endpoint.rstrip('/')}{scope_id}/providers"

    def listing(provider: str, api_version: str) -> tuple[list[dict[str, Any]] | None, int, BaseException | None]:
        """(workspaces, or None when the list failed; requests made; the error)."""
        url = f"{base}/{provider}?api-version={api_version}"
        items: list[dict[str, Any]] = []
        calls = 0
        try:
            for page in arm_pages(client.send_request, url):
                calls += 1
                items.extend(page)
        except AZURE_ERRORS as exc:
            calls += 1
            status, code, _ = error_facts(exc)
            if status == 409 and (code or "").lower() in UNREGISTERED_PROVIDER_CODES:
                return [], calls, None
            return None, calls, exc
        return items, calls, None

    wanted = []
    if azure.discover_aml:
        wanted.append((AML_PROVIDER, API_AML_WORKSPACES))
    if azure.discover_databricks:
        wanted.append((DATABRICKS_PROVIDER, API_DATABRICKS_WORKSPACES))
    if len(wanted) > 1:
        with ThreadPoolExecutor(max_workers=len(wanted), thread_name_prefix="mlgov-arm-list") as pool:
            listed = list(pool.map(lambda w: listing(*w), wanted))
    else:
        listed = [listing(*w) for w in wanted]

    calls = sum(n for _, n, _ in listed)
    failures: list[tuple[str, BaseException]] = []
    for (provider, _), (items, _, exc) in zip(wanted, listed, strict=True):
        family = "aml_workspaces" if provider == AML_PROVIDER else "databricks_workspaces"
        if exc is not None:
            failures.append((provider, exc))
            listener.family_done(scope_id, family, 0, False)
            continue
        found = items or []
        listener.family_done(scope_id, family, len(found), True)
        if provider == AML_PROVIDER:
            result.complete = True
            for ws in found:
                _add_aml(result, ws, subscription_id, azure.filters)
        else:
            for ws in found:
                _add_databricks(result, ws, subscription_id, azure.filters)

    families = len(wanted)
    if not failures:
        result.scopes.append(
            ScopeStatus(scope_id=scope_id, scope_kind="subscription", family="*", ok=True, calls=calls)
        )
    elif len(failures) == families:
        result.scopes.append(
            failed_scope(failures[0][1], scope_id=scope_id, scope_kind="subscription", family="*", calls=calls)
        )
    else:
        for provider, exc in failures:
            family = "aml_workspaces" if provider == AML_PROVIDER else "databricks_workspaces"
            result.scopes.append(
                failed_scope(exc, scope_id=scope_id, scope_kind="subscription", family=family, calls=calls)
            )
    listener.scope_finished(scope_id, not failures)
    return result


def _add_aml(result: _SubscriptionResult, ws: Mapping[str, Any], subscription_id: str, filters: AzureFilters) -> None:
    ws_id = _str(ws.get("id"))
    name = _str(ws.get("name"))
    if not ws_id or not name:
        return
    location = _str(ws.get("location"))
    result.known.append(AmlWorkspaceRef(resource_id=ws_id, name=name, location=location))
    kind = (_str(ws.get("kind")) or "").lower()
    if kind not in AUDITED_AML_KINDS or not selected(ws, filters):
        return
    result.targets.append(
        AmlTarget(
            resource_id=ws_id,
            name=name,
            subscription_id=subscription_id,
            resource_group=resource_group_of(ws_id) or "",
            location=location,
        )
    )


def _add_databricks(
    result: _SubscriptionResult, ws: Mapping[str, Any], subscription_id: str, filters: AzureFilters
) -> None:
    ws_id = _str(ws.get("id"))
    name = _str(ws.get("name"))
    props = ws.get("properties") if isinstance(ws.get("properties"), dict) else {}
    url = _str(props.get("workspaceUrl")) if props else None
    # A workspace still provisioning (or failed) has no URL yet: there is nothing to read.
    if not ws_id or not name or not url or not selected(ws, filters):
        return
    sku = ws.get("sku") if isinstance(ws.get("sku"), dict) else {}
    host = url if url.startswith("https://") else "https://" + url.removeprefix("http://")
    result.targets.append(
        DatabricksTarget(
            host=host.rstrip("/"),
            name=name,
            auth=DatabricksAuth(type="entra"),
            arm_id=ws_id,
            location=_str(ws.get("location")),
            pricing_tier=_str(sku.get("name")) if sku else None,
            subscription_id=subscription_id,
        )
    )


def selected(resource: Mapping[str, Any], filters: AzureFilters) -> bool:
    """Whether a workspace passes the resource-group, tag and name filters."""
    if filters.resource_groups:
        rg = (resource_group_of(_str(resource.get("id")) or "") or "").lower()
        if rg not in {g.lower() for g in filters.resource_groups}:
            return False
    if filters.tags:
        raw_tags = resource.get("tags")
        tags = {str(k).lower(): v for k, v in raw_tags.items()} if isinstance(raw_tags, dict) else {}
        for key, wanted in filters.tags.items():
            have = tags.get(key.lower())
            if have is None or (wanted != "*" and str(have) != wanted):
                return False
    if filters.names:
        name = (_str(resource.get("name")) or "").lower()
        if not any(fnmatch.fnmatchcase(name, pattern.lower()) for pattern in filters.names):
            return False
    return True


def resource_group_of(resource_id: str) -> str | None:
    """The resource group named in an ARM id, else None."""
    parts = resource_id.strip("/").split("/")
    for i, part in enumerate(parts[:-1]):
        if part.lower() == "resourcegroups":
            return parts[i + 1]
    return None


def _unique(values: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for v in values:
        seen.setdefault(v.lower(), v)
    return list(seen.values())


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


__all__ = ["discover", "resource_group_of", "selected"]
