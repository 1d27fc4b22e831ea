"""Tests of AUD-001 (mlgov.checks.audit): unaudited scopes become `error` findings.

(Named `test_audit_check.py`: tests/test_audit.py belongs to mlgov.audit, and test module basenames
must be unique across the suite.)
"""

from __future__ import annotations

from dbx_builders import AML_WS, HOST, WS, failed, findings, ok, run, snapshot, workspace

from mlgov.checks.audit import scope_name
from mlgov.findings import FindingStatus, Severity


def test_failed_family_is_an_error_finding_with_why() -> None:
    """A failed repos listing is one AUD-001 finding on the workspace, keyed by family, saying what and why."""
    snap = snapshot(databricks=[workspace()], scopes=[ok(), failed(family="repos")])
    [f] = findings(snap, "AUD-001")
    assert f.status is FindingStatus.ERROR
    assert f.severity is Severity.ERROR
    assert f.resource_id == WS == f.scope_id
    assert f.resource_kind == "databricks.workspace"
    assert f.resource_name == HOST
    assert f.sub_key == "repos"
    assert f.message.startswith(
        f"Could not read repos of Databricks workspace '{HOST}' "
        "(403 PERMISSION_DENIED: User is not authorized to list repos)"
    )
    assert f.evidence == {
        "scope_kind": "databricks_workspace",
        "family": "repos",
        "status": 403,
        "code": "PERMISSION_DENIED",
        "error": "User is not authorized to list repos",
        "hint": "Add the audit identity to the workspace.",
    }


def test_whole_scope_failure_names_the_scope_only() -> None:
    """Family `*` means nothing of the scope could be read."""
    status = failed(AML_WS, "*", scope_kind="aml_workspace", status=None, code=None, error="DNS lookup failed")
    [f] = findings(snapshot(scopes=[status]), "AUD-001")
    assert f.message.startswith("Could not read AML workspace 'mlw-dev' (DNS lookup failed)")
    assert f.resource_kind == "aml.workspace"
    assert f.sub_key == "*"


def test_each_failed_family_is_its_own_finding_and_duplicates_fold() -> None:
    """Two families failing give two findings; the same failure reported twice gives one."""
    scopes = [failed(family="repos"), failed(family="tokens"), failed(family="repos")]
    result = findings(snapshot(databricks=[workspace()], scopes=scopes), "AUD-001")
    assert sorted(f.sub_key or "" for f in result) == ["repos", "tokens"]
    assert len({f.fingerprint for f in result}) == 2


def test_successful_scopes_give_no_finding_but_are_covered() -> None:
    """A scope read successfully is covered by AUD-001, so an earlier error there can resolve."""
    result = run(snapshot(databricks=[workspace()], scopes=[ok(), ok(family="repos")]), "AUD-001")
    assert result.findings == ()
    assert ("AUD-001", WS) in result.coverage


def test_unknown_scope_kinds_and_subscriptions() -> None:
    """Subscriptions map to azure.subscription; an unknown kind keeps its name under `audit.`."""
    sub = "/subscriptions/11111111-2222-3333-4444-555555555555"
    scopes = [
        failed(sub, "*", scope_kind="subscription", status=401, code="InvalidAuthenticationToken", hint=None),
        failed("custom://thing", "list", scope_kind="gadget"),
    ]
    result = {f.sub_key: f for f in findings(snapshot(scopes=scopes), "AUD-001")}
    assert result["*"].resource_kind == "azure.subscription"
    assert result["*"].resource_name == "11111111-2222-3333-4444-555555555555"
    assert "401 InvalidAuthenticationToken" in result["*"].message
    assert result["list"].resource_kind == "audit.gadget"


def test_scope_name() -> None:
    """Short names: the host of a Databricks URL, the last segment of an ARM id."""
    assert scope_name(WS) == HOST
    assert scope_name(f"{WS}/clusters/1") == HOST
    assert scope_name(AML_WS) == "mlw-dev"
    assert scope_name("") == ""
