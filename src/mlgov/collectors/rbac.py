"""Role assignment collector: who holds which role on each workspace, directly or inherited.

With azure-mgmt-authorization (4.0, api-version 2022-04-01):

1. `role_assignments.list_for_scope(<workspace id>)` per workspace, with no filter: ARM
   returns the assignments at, above and below the scope. Kept are those at the workspace or
   above it: a scope that is a prefix of the workspace id (case-insensitive, on path
   segments), a management group, or the root `/`. `inherited` is true for all but the
   workspace's own scope.
2. Each distinct role definition is read once (`role_definitions.get_by_id`) for its name,
   type and actions. Roles are never guessed from ids or names; a definition that cannot be
   read leaves `role_name` empty and marks the workspace's `role_assignments` family failed,
   so that a policy counting owners never reads an unknown role as "not Owner".

The client is the one of the workspace's subscription. Failures become `ScopeStatus`
entries (`family="role_assignments"`, `scope_kind` `aml_workspace` or `databricks_workspace`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from mlgov.context import AuditContext
from mlgov.inventory import RoleAssignment, ScopeStatus

FAMILY = "role_assignments"
MANAGEMENT_GROUP_PREFIX = "/providers/microsoft.management/managementgroups/"


@dataclass(frozen=True, slots=True)
class _Raw:
    assignment_id: str
    scope: str
    principal_id: str
    principal_type: str | None
    role_definition_id: str


@dataclass(frozen=True, slots=True)
class _RoleDefinition:
    name: str | None
    role_type: str | None
    actions: tuple[str, ...]


def collect_role_assignments(
    ctx: AuditContext, workspace_ids: list[str]
) -> tuple[list[RoleAssignment], list[ScopeStatus]]:
    """Assignments applying to each workspace, with their role definitions resolved."""
    unique = list({w.lower().rstrip("/"): w.rstrip("/") for w in workspace_ids}.values())
    if not unique:
        return [], []
    workers = max(1, min(ctx.config.collection.concurrency.arm, len(unique)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mlgov-rbac") as pool:
        listed = list(pool.map(lambda w: _list(ctx, w), unique))

    # Resolve each role definition once, across every workspace.
    wanted: dict[str, tuple[str, str]] = {}
    for ws_id, raws, _failure, _calls in listed:
        for raw in raws:
            wanted.setdefault(definition_key(raw.role_definition_id), (raw.role_definition_id, ws_id))
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(wanted) or 1))) as pool:
        resolved = dict(zip(wanted, pool.map(lambda item: _definition(ctx, *item), wanted.values()), strict=True))

    assignments: list[RoleAssignment] = []
    statuses: list[ScopeStatus] = []
    for ws_id, raws, failure, calls in listed:
        if failure is not None:
            statuses.append(failure)
            continue
        unresolved: list[str] = []
        for raw in raws:
            definition, error = resolved[definition_key(raw.role_definition_id)]
            if definition is None:
                unresolved.append(f"{raw.role_definition_id} ({error})")
            assignments.append(_record(raw, ws_id, definition))
        statuses.append(_status(ws_id, unresolved, calls))
    return assignments, statuses


def definition_key(role_definition_id: str) -> str:
    """Role definitions are GUIDs unique in the tenant: the same role assigned in two
    subscriptions has two ids but one definition."""
    return role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()


def applies_to(scope: str, workspace_id: str) -> bool:
    """True when an assignment at `scope` applies to the workspace (at or above it)."""
    s = scope.lower().rstrip("/")
    w = workspace_id.lower().rstrip("/")
    if s == "" or s == w or s.startswith(MANAGEMENT_GROUP_PREFIX):
        return True
    return w.startswith(s + "/")


def scope_kind_of(workspace_id: str) -> str:
    """`databricks_workspace` for a Databricks ARM id, else `aml_workspace`."""
    return "databricks_workspace" if "/microsoft.databricks/" in workspace_id.lower() else "aml_workspace"


def _list(ctx: AuditContext, ws_id: str) -> tuple[str, list[_Raw], ScopeStatus | None, int]:
    from mlgov.collectors.azure_common import AZURE_ERRORS, failed_scope, subscription_of

    kind = scope_kind_of(ws_id)
    sub = subscription_of(ws_id)
    if not sub:
        status = ScopeStatus(
            scope_id=ws_id,
            scope_kind=kind,
            family=FAMILY,
            ok=False,
            error=f"not an ARM resource id: {ws_id!r}",
        )
        return ws_id, [], status, 0
    raws: list[_Raw] = []
    pages: list[int] = []

    def count(response: Any) -> None:
        pages.append(1)

    try:
        client = ctx.authz_client(sub)
        # The operation's URL template is "/{scope}/...": give the scope without its leading slash.
        for ra in client.role_assignments.list_for_scope(ws_id.lstrip("/"), raw_response_hook=count):
            raw = _raw(ra)
            if raw is not None and applies_to(raw.scope, ws_id):
                raws.append(raw)
    except AZURE_ERRORS as exc:
        calls = max(len(pages), 1)
        return ws_id, [], failed_scope(exc, scope_id=ws_id, scope_kind=kind, family=FAMILY, calls=calls), calls
    return ws_id, raws, None, len(pages)


def _raw(ra: Any) -> _Raw | None:
    role_id = _text(getattr(ra, "role_definition_id", None))
    principal = _text(getattr(ra, "principal_id", None))
    if not role_id or not principal:
        return None
    return _Raw(
        assignment_id=_text(getattr(ra, "id", None)) or "",
        scope=_text(getattr(ra, "scope", None)) or "",
        principal_id=principal,
        principal_type=_text(getattr(ra, "principal_type", None)),
        role_definition_id=role_id,
    )


def _definition(ctx: AuditContext, role_id: str, ws_id: str) -> tuple[_RoleDefinition | None, str | None]:
    from mlgov.collectors.azure_common import AZURE_ERRORS, error_facts, subscription_of

    sub = subscription_of(role_id) or subscription_of(ws_id) or ""
    try:
        rd = ctx.authz_client(sub).role_definitions.get_by_id(role_id.lstrip("/"))
    except AZURE_ERRORS as exc:
        status, code, message = error_facts(exc)
        return None, f"HTTP {status} {code or ''}: {message}".strip() if status else message
    actions: list[str] = []
    for perm in getattr(rd, "permissions", None) or []:
        actions.extend(str(a) for a in (getattr(perm, "actions", None) or []))
    return (
        _RoleDefinition(
            name=_text(getattr(rd, "role_name", None)),
            role_type=_text(getattr(rd, "role_type", None)),
            actions=tuple(actions),
        ),
        None,
    )


def _record(raw: _Raw, ws_id: str, definition: _RoleDefinition | None) -> RoleAssignment:
    return RoleAssignment(
        assignment_id=raw.assignment_id,
        applies_to=ws_id,
        scope=raw.scope,
        principal_id=raw.principal_id,
        principal_type=raw.principal_type,
        role_definition_id=raw.role_definition_id,
        role_name=definition.name if definition else None,
        role_type=definition.role_type if definition else None,
        actions=definition.actions if definition else (),
        inherited=raw.scope.lower().rstrip("/") != ws_id.lower().rstrip("/"),
    )


def _status(ws_id: str, unresolved: list[str], calls: int) -> ScopeStatus:
    kind = scope_kind_of(ws_id)
    if unresolved:
        shown = "; ".join(sorted(set(unresolved))[:3])
        return ScopeStatus(
            scope_id=ws_id,
            scope_kind=kind,
            family=FAMILY,
            ok=False,
            error=f"{len(set(unresolved))} role definition(s) could not be read: {shown}",
            hint="Grant Reader (it includes Microsoft.Authorization/roleDefinitions/read) to the audit identity.",
            calls=calls,
        )
    return ScopeStatus(scope_id=ws_id, scope_kind=kind, family=FAMILY, ok=True, calls=calls)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(getattr(value, "value", value))
    return text or None


__all__ = ["applies_to", "collect_role_assignments", "definition_key", "scope_kind_of"]
