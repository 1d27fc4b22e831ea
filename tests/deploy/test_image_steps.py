"""The image's build and entrypoint steps, replayed without Docker, offline, in a fresh virtual environment.

What the Dockerfile's builder does, step by step:
1. the build context is what .dockerignore lets through (copied to a temporary directory);
2. the dependency list is extracted from pyproject.toml by the Dockerfile's own one-liner;
3. `pip wheel --no-deps` builds mlgov's wheel (here with `--no-build-isolation`, hatchling from
   the dev extra, because tests may not download a build backend);
4. `python -m venv` + `pip install --no-deps` installs that wheel into an empty venv;
5. the entrypoint runs from that venv: `mlgov --version`, `--help`, `policies list` (policies
   come from the wheel's mlgov/_policies), `validate` of the example config, and the
   default CMD (`audit --config /etc/mlgov/config.yaml`, absent here: exit 2 with a hint).

Dependencies are not downloaded (the image installs them from PyPI; tests are offline). The
fresh venv is created without system site-packages and gets a `.pth` file that appends the
project venv's site-packages *after* its own: the wheel's `mlgov` comes first, third-party
packages resolve from the already installed set, and the project venv's own `.pth` files (its
editable mlgov) are not processed, since Python only reads `.pth` files in site directories,
not in paths a `.pth` adds. The test checks that `mlgov` was imported from the fresh venv.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from .test_dockerfile import ROOT, dockerignore_excludes

pytestmark = pytest.mark.slow


def run(args: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=600)


def build_context(dest: Path) -> Path:
    """Copy the files .dockerignore lets into the build context."""
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith((".git/", ".venv/")) or not path.is_file() or dockerignore_excludes(rel):
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return dest


def test_wheel_installs_into_a_fresh_venv_and_the_entrypoint_runs(tmp_path: Path) -> None:
    """The wheel built from the Docker build context installs with --no-deps and `mlgov` works from it."""
    context = build_context(tmp_path / "context")
    assert (context / "pyproject.toml").is_file() and not (context / "tests").exists()

    # Step 2: the Dockerfile's requirement extraction, run as written there.
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    one_liner = re.search(r'python -c "(import tomllib;[^"]+)"', dockerfile)
    assert one_liner, "the dependency extraction step is missing from the Dockerfile"
    code = one_liner.group(1)  # sh leaves a backslash-n inside double quotes as is
    extracted = run([sys.executable, "-c", code], cwd=context)
    assert extracted.returncode == 0, extracted.stderr
    requirements = [Requirement(line) for line in extracted.stdout.splitlines() if line.strip()]
    assert requirements
    for req in requirements:  # every dependency is satisfied by what the dependency layer would hold
        assert req.specifier.contains(metadata.version(req.name), prereleases=True), req

    # Step 3: the wheel, from the build context only.
    wheels = tmp_path / "wheels"
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                 "--wheel-dir", str(wheels), str(context)], cwd=tmp_path)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("mlgov-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("mlgov/_policies/") and n.endswith(".yaml") for n in names)
    assert "mlgov/data/prices.yaml" in names and "mlgov/cli.py" in names

    # Step 4: an empty venv, the wheel without dependencies.
    venv = tmp_path / "opt-mlgov"
    made = run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    installed = run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                     "--no-compile", str(wheel)], cwd=tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    site = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                    cwd=tmp_path).stdout.strip())
    (site / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "MLGOV_"))}
    env.update({"PATH": f"{venv / 'bin'}:{env.get('PATH', '')}", "PYTHONNOUSERSITE": "1",
                "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "HOME": str(tmp_path)})
    workdir = tmp_path / "var-lib-mlgov"
    workdir.mkdir()
    mlgov = str(venv / "bin" / "mlgov")

    where = run([str(python), "-c", "import mlgov, mlgov.catalogue as c; print(mlgov.__file__); "
                 "print(c.default_policy_dir())"], cwd=workdir, env=env)
    module_file, policy_dir = where.stdout.split()
    assert Path(module_file).is_relative_to(venv) and Path(policy_dir).is_relative_to(venv), where.stdout

    # Step 5: the entrypoint.
    version = run([mlgov, "--version"], cwd=workdir, env=env)
    assert version.returncode == 0 and version.stdout.startswith("mlgov ")
    helped = run([mlgov, "--help"], cwd=workdir, env=env)
    assert helped.returncode == 0 and "serve" in helped.stdout and "audit" in helped.stdout
    listed = run([mlgov, "policies", "list"], cwd=workdir, env=env)
    assert listed.returncode == 0, listed.stderr
    assert "MLF-001" in listed.stdout and "policies." in listed.stdout

    env_vars = {**env, **example_env()}
    validated = run([mlgov, "validate", "--config", str(ROOT / "deploy" / "config.example.yaml")],
                    cwd=workdir, env=env_vars)
    assert validated.returncode == 0, validated.stdout + validated.stderr

    default_cmd = run([mlgov, "audit", "--config", "/etc/mlgov/config.yaml"], cwd=workdir, env=env)
    assert default_cmd.returncode == 2 and "/etc/mlgov/config.yaml" in default_cmd.stderr


def example_env() -> dict[str, str]:
    from .test_config_example import example_env as env

    return env()
