"""AUD-001: scopes that could not be audited, reported as findings of status `error`.

A scope that failed (a subscription, a workspace, or one API family of it) is data in the
snapshot (`ScopeStatus` with `ok=False`). This check turns each into a finding so that an
unaudited scope never reads as compliant. The engine keeps the earlier findings of other
policies open on that scope, because their checks were not evaluated there.
"""

from __future__ import annotations

from collections.abc import Iterator

from mlgov.checks import CheckContext, Hit, check
from mlgov.inventory import ScopeStatus

_SCOPE_KINDS = {
    "databricks_workspace": ("databricks.workspace", "Databricks workspace"),
    "aml_workspace": ("aml.workspace", "AML workspace"),
    "subscription": ("azure.subscription", "subscription"),
    "registry": ("azure.container_registry", "container registry"),
    "tenant": ("azure.tenant", "tenant"),
}


@check("AUD-001", scopes={"audit": ()})
def unaudited_scopes(ctx: CheckContext) -> Iterator[Hit]:
    """One hit per failed (scope, API family), in collection order, duplicates folded."""
    seen: set[tuple[str, str]] = set()
    for status in ctx.snapshot.failed_scopes:
        key = (status.scope_id.lower(), status.family)
        if key in seen:
            continue
        seen.add(key)
        kind, label = _SCOPE_KINDS.get(status.scope_kind, (f"audit.{status.scope_kind}", status.scope_kind))
        name = scope_name(status.scope_id)
        yield Hit(
            resource_id=status.scope_id,
            resource_kind=kind,
            resource_name=name,
            scope_id=status.scope_id,
            sub_key=status.family,
            message=_message(status, label, name),
            evidence={
                "scope_kind": status.scope_kind,
                "family": status.family,
                "status": status.status,
                "code": status.code,
                "error": status.error,
                "hint": status.hint,
            },
        )


def scope_name(scope_id: str) -> str:
    """A short name for a scope id: the host of a Databricks URL, the last segment of an ARM id."""
    if scope_id.startswith("databricks://"):
        return scope_id[len("databricks://") :].split("/", 1)[0]
    segments = [s for s in scope_id.split("/") if s]
    return segments[-1] if segments else scope_id


def _message(status: ScopeStatus, label: str, name: str) -> str:
    what = f"{label} '{name}'" if status.family == "*" else f"{status.family} of {label} '{name}'"
    why_parts = [str(status.status)] if status.status is not None else []
    if status.code:
        why_parts.append(status.code)
    why = " ".join(why_parts)
    detail = status.error or "no error detail recorded"
    if why:
        detail = f"{why}: {detail}"
    return (
        f"Could not read {what} ({detail}); policies that need it were not evaluated there and "
        "their earlier findings stay open"
    )
