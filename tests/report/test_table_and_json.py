"""Tests of the console table and the JSON envelope on a small hand-built run."""

from __future__ import annotations

from datetime import UTC, datetime

from mlgov.audit import AuditOptions, run_audit
from mlgov.inventory import ClusterSize, DatabricksWorkspace, DbxCluster, ScopeStatus
from mlgov.report import Report, renderer
from mlgov.report.json_report import envelope
from mlgov.snapshot import Snapshot, save

T0 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
HOST = "adb-1.1.azuredatabricks.net"


def report(tmp_path: object) -> Report:
    ws = DatabricksWorkspace(
        resource_id=f"databricks://{HOST}",
        host=f"https://{HOST}",
        name="finance-prod",
        clusters=(
            DbxCluster(resource_id=f"databricks://{HOST}/clusters/c1", cluster_id="c1", name="adhoc", source="UI",
                       state="RUNNING", autotermination_minutes=0,
                       size=ClusterSize(node_type_id="Standard_DS3_v2", num_workers=2)),
        ),
    )
    snap = Snapshot(
        taken_at=T0,
        databricks=(ws,),
        scopes=(ScopeStatus(scope_id=ws.resource_id, scope_kind="databricks_workspace", family="tokens", ok=False,
                            error="403 PERMISSION_DENIED", status=403),),
    )
    path = f"{tmp_path}/snap.json"
    save(snap, path)
    from pathlib import Path

    result = run_audit(None, AuditOptions(from_snapshot=Path(path), policies=("CST-001", "AUD-001")))
    return Report(result=result, findings=result.evaluation.findings, generated_at=T0, target_label="test")


def test_table_shows_counts_findings_and_fixes(tmp_path: object) -> None:
    """The table has the status, severity counts, each finding's message and its fix."""
    from mlgov.report.table import render_for_terminal

    plain = renderer("table")(report(tmp_path))
    assert "\x1b[" not in plain  # no colour codes when rendering for a file
    text = render_for_terminal(report(tmp_path), width=300, color=False)  # wide: no wrapping inside cells
    assert "PARTIAL" in text and "open finding(s)" in text
    assert "adhoc" in text and "never auto-terminates" in text
    assert "auto-termination" in text  # the remediation summary


def test_json_envelope_counts_match_findings(tmp_path: object) -> None:
    """The JSON summary agrees with its findings list and names the prices used."""
    env = envelope(report(tmp_path))
    assert env["summary"]["open"] == len(env["findings"]) == 2
    assert env["summary"]["open_by_severity"]["error"] == 1
    assert env["summary"]["open_by_severity"]["medium"] == 1
    assert env["failed_scopes"][0]["family"] == "tokens"
    assert env["prices"]["currency"] == "USD" and env["prices"]["sources"]
    finding = next(f for f in env["findings"] if f["policy_id"] == "CST-001")
    assert finding["resource"]["name"] == "adhoc" and finding["remediation"]["steps"]
