"""Tests of the command line: help texts, start-up weight, usage errors and exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mlgov.cli import main

HEAVY = ("databricks.sdk", "azure.ai.ml", "azure.identity", "azure.mgmt", "vcr", "rich", "structlog")


def modules_loaded_by(args: list[str]) -> set[str]:
    code = (
        "import sys, io, contextlib\n"
        "from mlgov.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    try: main({args!r})\n"
        "    except SystemExit: pass\n"
        "print('\\n'.join(sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("args", [["--help"], ["policies", "list"]])
def test_light_commands_never_import_cloud_sdks(args: list[str]) -> None:
    """`mlgov --help` and `mlgov policies list` start without importing any cloud SDK."""
    loaded = modules_loaded_by(args)
    assert not [m for m in loaded if m.startswith(HEAVY)]


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Running `mlgov` alone shows the help and exits with the usage status."""
    assert main([]) == 2
    assert "first steps" in capsys.readouterr().out


def test_audit_without_source_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """`mlgov audit` with nothing to audit explains what to pass, without a traceback."""
    assert main(["audit"]) == 2
    err = capsys.readouterr().err
    assert "nothing to audit" in err and "hint:" in err and "Traceback" not in err


def test_missing_config_file_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: object) -> None:
    """A config path that does not exist gives exit status 2 and a hint."""
    assert main(["audit", "--config", "/nonexistent/mlgov.yaml"]) == 2
    assert "no such config file" in capsys.readouterr().err


def test_policies_show_unknown_id(capsys: pytest.CaptureFixture[str]) -> None:
    """`policies show` of an unknown id is a usage error pointing at `policies list`."""
    assert main(["policies", "show", "XYZ-999"]) == 2
    assert "policies list" in capsys.readouterr().err
