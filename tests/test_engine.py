"""Tests of mlgov.engine: checks run over a snapshot, failed scopes, parameters, determinism.

Snapshots are built from inventory records (tests/checks/dbx_builders.py, imported through the
`checks` namespace since tests/ is on the import path) and evaluated with the shipped catalogue and
price book.
"""

from __future__ import annotations

import pytest

from checks.dbx_builders import (
    AML_WS,
    HOST,
    NOW,
    WS,
    ago,
    aml_compute,
    aml_workspace,
    catalogue,
    cluster,
    experiment,
    failed,
    job,
    job_cluster,
    job_run,
    ok,
    prices,
    sighting,
    snapshot,
    task,
    token,
    workspace,
)
from mlgov.engine import PolicySettings, evaluate, resolve_parameters, scopes_of_plane, validate_settings
from mlgov.errors import ConfigError, UsageError
from mlgov.findings import FindingStatus, Severity
from mlgov.replay import fake_jwt
from mlgov.snapshot import Snapshot, from_dict, to_dict

OTHER_HOST = "adb-9999999999999999.9.azuredatabricks.net"
OTHER_WS = f"databricks://{OTHER_HOST}"


def _busy_snapshot() -> Snapshot:
    """Two workspaces with something for most policies; the first one's repos listing failed."""
    first = workspace(
        clusters=[cluster(autotermination=0)],
        jobs=[job(tasks=[task(existing_cluster_id="0101-000000-shared")], job_clusters=[job_cluster()])],
        runs=[job_run(1, tasks=[("main", "0101-000000-shared", 2.0)])],
        experiments=[experiment(latest_run=ago(100))],
        tokens=[token(created=ago(3))],
        secrets=[sighting(fake_jwt(exp=ago(1)))],
    )
    second = workspace(host=OTHER_HOST, name="dbw-other", experiments=[experiment(latest_run=ago(70), host=OTHER_HOST)])
    return snapshot(
        databricks=[first, second],
        aml=[aml_workspace(computes=[aml_compute()])],
        scopes=[ok(), failed(family="repos"), ok(OTHER_WS), ok(AML_WS, scope_kind="aml_workspace")],
    )


def test_failed_repos_family_gives_aud001_and_no_git003_there() -> None:
    """The workspace whose repos failed gets AUD-001 and no GIT-003 verdict; the other workspace gets GIT-003."""
    result = evaluate(_busy_snapshot(), catalogue(), prices())
    git003 = [f for f in result.findings if f.policy_id == "GIT-003"]
    aud = [f for f in result.findings if f.policy_id == "AUD-001"]
    assert [f.scope_id for f in git003] == [OTHER_WS]
    assert [(f.scope_id, f.sub_key, f.status) for f in aud] == [(WS, "repos", FindingStatus.ERROR)]
    assert ("GIT-003", WS) not in result.coverage
    assert ("GIT-003", OTHER_WS) in result.coverage
    # Policies that do not need repos are still evaluated on the first workspace.
    assert ("CST-001", WS) in result.coverage
    assert any(f.policy_id == "CST-001" and f.scope_id == WS for f in result.findings)


def test_error_findings_sort_first() -> None:
    """AUD-001 (severity error) leads the findings, then high, medium, low."""
    result = evaluate(_busy_snapshot(), catalogue(), prices())
    ranks = [f.severity.rank for f in result.findings]
    assert ranks == sorted(ranks, reverse=True)
    assert result.findings[0].policy_id == "AUD-001"


def test_parameter_override_changes_the_outcome() -> None:
    """stale_after_days=60 from the config turns the 70-day-old experiment into a finding."""
    snap = _busy_snapshot()
    default = evaluate(snap, catalogue(), prices(), only=["EXP-002"])
    tuned = evaluate(
        snap,
        catalogue(),
        prices(),
        PolicySettings(parameters={"EXP-002": {"stale_after_days": 60}}),
        only=["EXP-002"],
    )
    assert sorted(f.scope_id for f in default.findings) == [WS]
    assert sorted(f.scope_id for f in tuned.findings) == sorted([WS, OTHER_WS])


def test_bad_parameter_overrides_are_config_errors() -> None:
    """Unknown parameters and values outside the bounds are refused with the config path."""
    policy = catalogue()["EXP-002"]
    with pytest.raises(ConfigError, match=r"policies\.parameters\.EXP-002\.stale_days"):
        resolve_parameters(policy, PolicySettings(parameters={"EXP-002": {"stale_days": 60}}))
    with pytest.raises(ConfigError, match="below the minimum"):
        resolve_parameters(policy, PolicySettings(parameters={"EXP-002": {"stale_after_days": 0}}))
    with pytest.raises(ConfigError, match="unknown policy"):
        validate_settings(catalogue(), PolicySettings(disabled=frozenset({"XYZ-000"})))


def test_disabled_policies_and_severity_overrides() -> None:
    """A disabled policy yields nothing and is not covered; a severity override applies to its findings."""
    settings = PolicySettings(disabled=frozenset({"CST-001"}), severities={"IAM-002": "high"})
    result = evaluate(_busy_snapshot(), catalogue(), prices(), settings)
    assert not any(f.policy_id == "CST-001" for f in result.findings)
    assert not any(pid == "CST-001" for pid, _ in result.coverage)
    assert {f.severity for f in result.findings if f.policy_id == "IAM-002"} == {Severity.HIGH}


def test_only_restricts_and_rejects_unknown_ids() -> None:
    """`only` runs the named policies; an unknown id is a usage error."""
    result = evaluate(_busy_snapshot(), catalogue(), prices(), only=["cst-001"])
    assert result.policies == ("CST-001",)
    assert {f.policy_id for f in result.findings} == {"CST-001"}
    with pytest.raises(UsageError):
        evaluate(_busy_snapshot(), catalogue(), prices(), only=["NOPE-001"])


def test_evaluation_at_snapshot_time_is_deterministic() -> None:
    """Without `now`, the snapshot's time is used: two runs, and a run on the saved-and-reloaded snapshot, agree."""
    snap = _busy_snapshot()
    first = evaluate(snap, catalogue(), prices())
    again = evaluate(snap, catalogue(), prices(), now=NOW)
    reloaded = evaluate(from_dict(to_dict(snap)), catalogue(), prices())
    assert first == again == reloaded
    assert [f.fingerprint for f in first.findings] == [f.fingerprint for f in reloaded.findings]


def test_later_evaluation_time_changes_time_based_verdicts() -> None:
    """Evaluating the same snapshot 30 days later makes the 70-day-old experiment stale."""
    snap = _busy_snapshot()
    later = evaluate(snap, catalogue(), prices(), only=["EXP-002"], now=ago(-30))
    assert sorted(f.scope_id for f in later.findings) == sorted([WS, OTHER_WS])


def test_findings_carry_policy_metadata() -> None:
    """Title, remediation and fingerprint come from the policy and the hit."""
    result = evaluate(_busy_snapshot(), catalogue(), prices(), only=["CST-001"])
    [f] = result.findings
    policy = catalogue()["CST-001"]
    assert f.title == policy.spec.title
    assert f.remediation == policy.remediation
    assert f.resource_id == f"databricks://{HOST}/clusters/0101-000000-shared"
    assert len(f.fingerprint) == 64


def test_scopes_of_plane() -> None:
    """Each plane's scopes are the workspace ids of that plane; audit covers every scope seen."""
    snap = _busy_snapshot()
    assert list(scopes_of_plane(snap, "databricks")) == [WS, OTHER_WS]
    assert list(scopes_of_plane(snap, "aml")) == [AML_WS]
    assert set(scopes_of_plane(snap, "audit")) == {WS, OTHER_WS, AML_WS}
    with pytest.raises(ValueError, match="unknown plane"):
        scopes_of_plane(snap, "mars")


def test_whole_workspace_failure_blocks_every_policy_there() -> None:
    """A `*` failure leaves the workspace unevaluated by every Databricks policy, with one AUD-001."""
    snap = snapshot(databricks=[workspace(clusters=[cluster()])], scopes=[failed(family="*")])
    result = evaluate(snap, catalogue(), prices())
    assert [f.policy_id for f in result.findings] == ["AUD-001"]
    assert {pid for pid, scope in result.coverage if scope == WS} == {"AUD-001"}
