"""`mlgov findings`: filters by status, date, policy and workspace, in table, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest

from lifecycle_support import DBX, T0, config, finding, result
from mlgov.cli import main
from mlgov.lifecycle import record_run

OTHER = "databricks://adb-2222222222222222.12.azuredatabricks.net"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A store after two runs: one finding resolved, one waived, one new on the second day."""
    waivers = tmp_path / "w.yaml"
    waivers.write_text(
        f"version: 1\nwaivers:\n  - policy: EXP-002\n    resource: '{OTHER}/*'\n    reason: kept for audits\n"
        "    owner: ops\n    expires: 2026-12-01\n    created: 2026-11-01\n",
        encoding="utf-8",
    )
    cfg = config(tmp_path, waivers=waivers)
    scopes = [DBX, OTHER]
    gone, kept, waived = finding("CST-001", "gone"), finding("MLF-001", "kept"), finding("EXP-002", "old", scope=OTHER)
    record_run(result([gone, kept, waived], scopes=scopes), cfg, notify=False, now=T0)
    record_run(result([kept, waived, finding("IAM-002", "tok")], scopes=scopes), cfg, notify=False,
               now=T0 + timedelta(days=3))
    return tmp_path / "state.db"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["findings", *args])
    return code, capsys.readouterr().out


def names(out: str) -> list[str]:
    return [f["resource"]["name"] for f in json.loads(out)["findings"]]


def test_status_filters(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """open hides waived and resolved; waived, resolved and all show what they say."""
    for status, expected in (("open", ["tok", "kept"]), ("waived", ["old"]), ("resolved", ["gone"]),
                             ("all", ["gone", "old", "tok", "kept"])):
        code, out = run(capsys, "--state", str(store), "--status", status, "--format", "json")
        assert code == 0
        assert names(out) == expected, status


def test_since_policy_and_workspace_filters(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--since keeps what changed on or after a date; --policy globs; --workspace matches the scope."""
    _, out = run(capsys, "--state", str(store), "--status", "all", "--since", "2026-11-04", "--format", "json")
    assert sorted(names(out)) == ["gone", "tok"]  # resolved and first seen on day 3
    _, out = run(capsys, "--state", str(store), "--status", "all", "--policy", "m*", "--format", "json")
    assert names(out) == ["kept"]
    _, out = run(capsys, "--state", str(store), "--status", "all", "--workspace", "adb-2222*", "--format", "json")
    assert names(out) == ["old"]


def test_table_and_csv(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The table has a header and a count line; CSV has one row per finding."""
    code, out = run(capsys, "--state", str(store))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["SEVERITY", "STATE", "POLICY"]
    assert lines[-1].startswith("2 finding(s), status open, from ")
    _, out = run(capsys, "--state", str(store), "--status", "resolved", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["resource_name"], r["state"], r["resolved_at"]) for r in rows] == [
        ("gone", "resolved", "2026-11-05T06:00:00Z")
    ]


def test_state_path_from_config(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --state the store named by the config's state.path is read."""
    cfg = tmp_path / "mlgov.yaml"
    cfg.write_text(f"version: 1\ndatabricks:\n  workspaces: [{{host: adb-1.azuredatabricks.net}}]\n"
                   f"state:\n  path: {store}\n", encoding="utf-8")
    code, out = run(capsys, "--config", str(cfg), "--format", "json")
    assert code == 0 and names(out) == ["tok", "kept"]


def test_missing_store_and_bad_date_are_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing store and a malformed --since give an error and a hint, exit 2."""
    assert main(["findings", "--state", str(tmp_path / "none.db")]) == 2
    err = capsys.readouterr().err
    assert "no state store here" in err and "hint: Run `mlgov audit" in err
    (tmp_path / "x.db").write_bytes(b"")
    assert main(["findings", "--state", str(tmp_path / "none.db"), "--since", "yesterday"]) == 2
    assert "--since: 'yesterday' is not a date" in capsys.readouterr().err
