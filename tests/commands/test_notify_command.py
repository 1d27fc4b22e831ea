"""`mlgov notify test`: posts a labelled test message and reports the HTTP outcome, never the URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from lifecycle_support import Reply, receiver
from mlgov.cli import main

SIG = "sig=" + "Z" * 30


def write_config(tmp: Path, url: str) -> Path:
    path = tmp / "mlgov.yaml"
    path.write_text(
        "version: 1\ndatabricks:\n  workspaces: [{host: adb-1.azuredatabricks.net}]\n"
        f"notifications:\n  min_interval_seconds: 0\n  backoff_seconds: 0\n  max_attempts: 2\n"
        f"  destinations:\n    - name: ops\n      type: teams\n      url: '{url}'\n",
        encoding="utf-8",
    )
    return path


def test_notify_test_reports_success(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 202 prints the status and attempt count, and the Teams run-history note; the URL is not shown."""
    with receiver() as server:
        cfg = write_config(tmp_path, server.url(f"/flow?{SIG}"))
        assert main(["notify", "test", "ops", "--config", str(cfg)]) == 0
        body = server.requests[0].body.decode()
    out = capsys.readouterr().out
    assert "test message delivered to ops (teams, host 127.0.0.1): HTTP 202 after 1 attempt(s)" in out
    assert "run history" in out
    assert SIG not in out and "/flow" not in out
    assert "mlgov test message for destination ops" in body


def test_notify_test_reports_failure_with_a_hint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 404 exits 1 with the status and what it usually means."""
    with receiver() as server:
        server.default = Reply(404)
        cfg = write_config(tmp_path, server.url(f"/flow?{SIG}"))
        assert main(["notify", "test", "ops", "--config", str(cfg)]) == 1
    out = capsys.readouterr().out
    assert "NOT delivered to ops (teams, host 127.0.0.1): HTTP 404 after 1 attempt(s)" in out
    assert "hint: nothing at that URL" in out
    assert SIG not in out


def test_notify_test_unknown_destination(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Naming a destination the config does not have is a usage error (exit 2)."""
    cfg = write_config(tmp_path, "https://x.environment.api.powerplatform.com/p")
    assert main(["notify", "test", "nope", "--config", str(cfg)]) == 2
    assert "no notification destination named 'nope' (destinations: ops)" in capsys.readouterr().err


def test_retired_connector_in_config_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A config with an Office 365 connector URL fails to load, pointing at Workflows."""
    cfg = write_config(tmp_path, f"https://contoso.webhook.office.com/webhookb2/abc?{SIG}")
    assert main(["notify", "test", "ops", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "retired Office 365 connector" in err and "Workflows" in err and SIG not in err
