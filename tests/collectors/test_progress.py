"""Progress: collectors report each scope and API family; the terminal display shows them, and
nothing of it reaches JSON output or a standard error that is not a terminal."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from azure_support import CASSETTES, SUB_A, RecordingListener, aml_id, make_config, make_context
from mlgov import progress_display
from mlgov.audit import RBAC_SCOPE, REGISTRIES_SCOPE, AuditOptions, collect
from mlgov.cli import main
from mlgov.progress_display import TerminalProgress
from mlgov.replay import replaying

AML = aml_id(SUB_A, "rg-ml", "mlw-e2e")
DBX = "databricks://adb-1111111111111111.11.azuredatabricks.net"


def test_every_scope_reports_its_families_between_start_and_finish() -> None:
    """Subscriptions, workspaces, registries and role assignments each start, report every API family
    read (with the objects counted) and finish once; no event comes outside its scope's span."""
    listener = RecordingListener()
    ctx = make_context(make_config({"subscriptions": [SUB_A]}))
    with replaying(CASSETTES / "e2e.yaml"):
        snap = collect(ctx, AuditOptions(), progress=listener)

    started = [e[1] for e in listener.events if e[0] == "started"]
    finished = [e[1] for e in listener.events if e[0] == "finished"]
    assert sorted(started) == sorted(finished) == sorted(
        [f"/subscriptions/{SUB_A}", AML, DBX, RBAC_SCOPE, REGISTRIES_SCOPE]
    )
    open_scopes: set[str] = set()
    families: dict[str, dict[str, int]] = {}
    for event in listener.events:
        kind, scope = event[0], event[1]
        if kind == "started":
            open_scopes.add(scope)
        elif kind == "finished":
            open_scopes.remove(scope)
        else:
            assert scope in open_scopes, event
            families.setdefault(scope, {})[event[2]] = event[3]
    (aml,) = snap.aml
    (dbx,) = snap.databricks
    assert families[f"/subscriptions/{SUB_A}"] == {"aml_workspaces": 1, "databricks_workspaces": 1}
    assert families[AML] == {"workspace": 1, "computes": len(aml.computes), "jobs": len(aml.jobs)}
    assert set(families[DBX]) == {"clusters", "jobs", "runs", "repos", "experiments", "tokens"}
    assert families[RBAC_SCOPE] == {"role_assignments": len(snap.role_assignments)}
    assert families[REGISTRIES_SCOPE] == {"registry": len(snap.registries)}
    assert dbx.resource_id == DBX


def test_terminal_display_shows_each_scope_with_its_families_and_objects() -> None:
    """On a terminal, a scope's line names it and says which family was read last and how many
    objects so far; a finished scope's line goes away."""
    buffer = io.StringIO()
    display = TerminalProgress(Console(file=buffer, force_terminal=True, width=140))
    try:
        display.scope_started("ws-1", "contoso-analytics-prod")
        display.family_done("ws-1", "clusters", 12, True)
        display.family_done("ws-1", "tokens", 0, False)
        display.scope_started("ws-2", "mlw-retail")
        live = display._progress.tasks  # what the next refresh draws
        assert [(t.description, t.fields["detail"]) for t in live] == [
            ("contoso-analytics-prod", "tokens (failed) - 12 objects"),
            ("mlw-retail", "starting"),
        ]
        display._progress.refresh()
        assert "contoso-analytics-prod" in buffer.getvalue() and "12 objects" in buffer.getvalue()
        display.scope_finished("ws-1", False)
        assert [t.description for t in display._progress.tasks] == ["mlw-retail"]
    finally:
        display.close()


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("fmt", "tty", "shown"),
    [("table", True, True), ("json", True, False), ("table", False, False), ("sarif", True, False)],
)
def test_progress_only_for_the_table_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fmt: str, tty: bool, shown: bool
) -> None:
    """The display is installed for the table format with a terminal on standard error, and never
    for machine-readable formats or when standard error is a file or a pipe."""
    made: list[Any] = []

    class Spy(RecordingListener):
        def __init__(self) -> None:
            super().__init__()
            made.append(self)

        def close(self) -> None:
            self.events.append(("closed",))

    monkeypatch.setattr(progress_display, "TerminalProgress", Spy)
    stderr = _Tty() if tty else io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)
    out = tmp_path / f"report.{fmt}"
    main(["audit", "--demo", "--format", fmt, "--output", str(out)])
    assert bool(made) is shown
    if shown:
        (spy,) = made
        assert spy.events[-1] == ("closed",)
        assert {e[1] for e in spy.events if e[0] == "started"} >= {DBX.replace("1111111111111111.11",
                                                                              "5555555555555555.15")}
    if fmt == "json":
        json.loads(out.read_text())  # the report is pure JSON
    assert "objects" not in stderr.getvalue()
