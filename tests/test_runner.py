"""End-to-end tests of a run: the demo tenant through the real SDKs, reports, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlgov.audit import AuditOptions
from mlgov.catalogue import load_catalogue
from mlgov.cli import main
from mlgov.findings import FindingStatus
from mlgov.runner import RunOutcome, demo_config, execute


@pytest.fixture(scope="module")
def demo_outcome() -> RunOutcome:
    return execute(demo_config(), AuditOptions(), demo=True, use_state=False)


def test_demo_covers_every_policy_of_the_catalogue(demo_outcome: RunOutcome) -> None:
    """The sample tenant makes every shipped policy fire at least once."""
    fired = {f.policy_id for f in demo_outcome.report.findings}
    assert fired == set(load_catalogue())


def test_demo_is_partial_because_one_scope_refuses(demo_outcome: RunOutcome) -> None:
    """The demo's refused scope makes the run partial, reported as AUD-001 with status error."""
    assert demo_outcome.result.status == "partial"
    audit = [f for f in demo_outcome.report.findings if f.policy_id == "AUD-001"]
    assert audit and all(f.status is FindingStatus.ERROR for f in audit)


def test_demo_json_report_holds_no_secret(demo_outcome: RunOutcome) -> None:
    """No token planted in the sample tenant reaches the JSON report."""
    from mlgov.replay import fake_pat
    from mlgov.report import renderer

    text = renderer("json")(demo_outcome.report)
    assert "eyJ" not in text  # no JWT
    assert fake_pat("mlgov-demo") not in text
    assert "dapi" not in text.replace("databricks", "")


def test_cli_demo_json_lists_findings_and_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    """`mlgov audit --demo --format json` prints a versioned report and exits 3 (partial)."""
    code = main(["audit", "--demo", "--format", "json", "--no-state"])
    out = capsys.readouterr().out
    data = json.loads(out)
    assert code == 3
    assert data["kind"] == "mlgov.report" and data["schema_version"] == 1
    assert data["run"]["status"] == "partial"
    assert {f["policy_id"] for f in data["findings"]} == set(load_catalogue())
    priced = [f for f in data["findings"] if f["estimated_monthly_cost"]]
    assert priced and all(f["estimated_monthly_cost"]["inputs"] for f in priced)


def test_snapshot_saved_then_evaluated_offline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A snapshot saved by a demo run gives the same findings when evaluated offline."""
    snap = tmp_path / "snap.json"
    assert main(["audit", "--demo", "--format", "json", "--no-state", "--save-snapshot", str(snap)]) == 3
    first = json.loads(capsys.readouterr().out)
    assert main(["audit", "--from-snapshot", str(snap), "--format", "json"]) == 3
    second = json.loads(capsys.readouterr().out)
    assert [f["fingerprint"] for f in first["findings"]] == [f["fingerprint"] for f in second["findings"]]


def test_fail_on_and_policy_filter(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """--policy narrows the evaluation; --fail-on gates on what is left."""
    snap = tmp_path / "snap.json"
    main(["audit", "--demo", "--format", "json", "--no-state", "--save-snapshot", str(snap)])
    capsys.readouterr()
    # Offline evaluation of a partial snapshot is still partial: exit 3 wins over 1.
    assert main(["audit", "--from-snapshot", str(snap), "--policy", "CST-001", "--fail-on", "low"]) == 3
    out = capsys.readouterr().out
    assert "CST-001" in out and "MLF-001" not in out


def test_output_file_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--output writes the report to a file and says so on stderr."""
    target = tmp_path / "out" / "report.md"
    main(["audit", "--demo", "--format", "markdown", "--no-state", "--output", str(target)])
    assert target.read_text().strip()
    assert "report written to" in capsys.readouterr().err


def test_unknown_policy_filter_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown --policy id is exit 2 with a pointer to `policies list`."""
    assert main(["audit", "--demo", "--policy", "NOPE-001", "--no-state"]) == 2
    assert "policies list" in capsys.readouterr().err
