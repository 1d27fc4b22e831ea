"""Tests of the `mlgov serve` command: arguments, --once exit statuses, and a demo run end to end."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from mlgov.cli import main
from mlgov.commands.serve import serve
from mlgov.config import ServeConfig
from mlgov.errors import ConfigError
from mlgov.replay import fake_pat
from mlgov.service.metrics import RunSummary


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(False)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def events(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.parametrize(("status", "code"), [("success", 0), ("partial", 3), ("error", 3)])
def test_once_exits_with_the_run_status(status: str, code: int) -> None:
    """`--once` runs one audit and exits 0 on success and 3 on a partial or failed run."""
    assert serve(ServeConfig(), lambda: RunSummary(status, 1.0), once=True) == code  # type: ignore[arg-type]


def test_once_exits_2_on_a_config_error() -> None:
    """A config error raised by the run gives the usage/config exit status."""

    def broken() -> RunSummary:
        raise ConfigError("bad", hint="fix it")

    assert serve(ServeConfig(), broken, once=True) == 2


def test_serve_without_config_or_demo_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """`mlgov serve` alone exits 2 and says to pass --config or --demo."""
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "--config FILE (or --demo)" in err and "config.example.yaml" in err


def test_bad_port_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """A port outside 0-65535 is an argument error."""
    with pytest.raises(SystemExit) as exc:
        main(["serve", "--demo", "--port", "70000"])
    assert exc.value.code == 2 and "not in 0-65535" in capsys.readouterr().err


def test_bad_cron_in_the_config_file_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A config whose serve.cron is ambiguous fails to load with the file and field named."""
    path = tmp_path / "mlgov.yaml"
    path.write_text(
        "version: 1\ndatabricks:\n  workspaces: [{host: adb-1.1.azuredatabricks.net}]\n"
        "serve:\n  cron: '0 6 1 * 1'\n",
        encoding="utf-8",
    )
    assert main(["serve", "--config", str(path), "--once"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "serve: cron:" in err


def test_help_explains_crontab_days(capsys: pytest.CaptureFixture[str]) -> None:
    """`mlgov serve --help` says that day-of-week numbers follow crontab and how to stop it."""
    with pytest.raises(SystemExit) as exc:
        main(["serve", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert exc.value.code == 0
    assert "0 and 7 are Sunday" in out and "SIGTERM" in out and "/metrics" in out


def test_demo_once_audits_the_sample_tenant_through_the_runner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mlgov serve --demo --once` runs the real runner on the replayed sample tenant and logs its summary."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLGOV_DEMO_TOKEN", fake_pat("serve-demo"))
    code = main(["serve", "--demo", "--once", "--log-format", "json"])
    logged = events(capsys.readouterr().err)
    (finished,) = [e for e in logged if e["event"] == "run.finished"]
    assert code == (0 if finished["status"] == "success" else 3)
    assert finished["status"] in {"success", "partial"}
    assert isinstance(finished["findings"], dict) and sum(finished["findings"].values()) > 0
    assert isinstance(finished["api_calls"], int) and finished["api_calls"] > 0
    assert finished["run_id"] and all(e.get("run_id") == finished["run_id"]
                                      for e in logged if str(e["event"]).startswith("run."))
