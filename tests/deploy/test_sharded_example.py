"""Tests of deploy/kubernetes/examples/sharded: schema-valid manifests, and shell steps that call mlgov
the way docs/scale-out.md says (their scripts run here with a stand-in `mlgov` on the PATH)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from mlgov.cli import build_parser
from mlgov.service.cron import parse_crontab

from .kustomize import build

ROOT = Path(__file__).resolve().parents[2]
SHARDED = ROOT / "deploy" / "kubernetes" / "examples" / "sharded"
VERSIONS = ["1.29.0", "1.33.0", kubernetes_validate.latest_version()]


@pytest.fixture(scope="module")
def docs() -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["kind"], d["metadata"]["name"]): d for d in build(SHARDED)}


def pod(cronjob: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return spec


def env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


@pytest.mark.parametrize("version", VERSIONS)
def test_every_resource_validates_against_the_kubernetes_schema(version: str) -> None:
    """The example renders to resources that pass strict schema validation (unknown fields fail)."""
    for doc in build(SHARDED):
        kubernetes_validate.validate(doc, version, strict=True)


def test_shards_replace_the_single_audit_and_run_as_an_indexed_job(docs: dict[tuple[str, str], Any]) -> None:
    """The base CronJob is gone; the shards are an Indexed Job of N pods for N shards, without the state
    store, and the final step expects the same N; every resource is in the mlgov namespace."""
    assert ("CronJob", "mlgov-audit") not in docs
    shards, merge = docs[("CronJob", "mlgov-audit-shards")], docs[("CronJob", "mlgov-audit-merge")]
    job = shards["spec"]["jobTemplate"]["spec"]
    (shard,) = pod(shards)["containers"]
    (final,) = pod(merge)["containers"]
    assert job["completionMode"] == "Indexed"
    assert job["completions"] == job["parallelism"] == int(env(shard)["SHARDS"]) == int(env(final)["SHARDS"])
    assert {d["metadata"].get("namespace") for k, d in docs.items() if k[0] != "Namespace"} == {"mlgov"}
    for cronjob in (shards, merge):
        assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"


def test_only_the_final_step_mounts_the_state_store_and_the_snapshots_are_shared(
    docs: dict[tuple[str, str], Any],
) -> None:
    """SQLite stays on the single-writer disk, mounted by the final step alone; snapshots travel on a
    ReadWriteMany volume both steps mount; only the shards, which read the APIs, use the Azure identity."""
    shards, merge = docs[("CronJob", "mlgov-audit-shards")], docs[("CronJob", "mlgov-audit-merge")]

    def claims(cronjob: dict[str, Any]) -> set[str]:
        volumes = pod(cronjob)["volumes"]
        return {v["persistentVolumeClaim"]["claimName"] for v in volumes if "persistentVolumeClaim" in v}

    assert claims(shards) == {"mlgov-snapshots"}
    assert claims(merge) == {"mlgov-snapshots", "mlgov-state"}
    assert docs[("PersistentVolumeClaim", "mlgov-state")]["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert docs[("PersistentVolumeClaim", "mlgov-snapshots")]["spec"]["accessModes"] == ["ReadWriteMany"]
    labels = [c["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"] for c in (shards, merge)]
    assert labels[0].get("azure.workload.identity/use") == "true" and "azure.workload.identity/use" not in labels[1]


def test_the_final_step_starts_after_the_shards_must_have_ended(docs: dict[tuple[str, str], Any]) -> None:
    """Same days, and the merge's start comes after the shards' start plus their active deadline."""
    shards, merge = docs[("CronJob", "mlgov-audit-shards")], docs[("CronJob", "mlgov-audit-merge")]
    first, second = (parse_crontab(c["spec"]["schedule"]) for c in (shards, merge))
    assert first.day_of_week == second.day_of_week and shards["spec"]["timeZone"] == merge["spec"]["timeZone"]
    start, end = (int(s.hour) * 60 + int(s.minute) for s in (first, second))
    deadline = shards["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"]
    assert start * 60 + deadline + shards["spec"]["startingDeadlineSeconds"] <= end * 60


def run_step(cronjob: dict[str, Any], tmp_path: Path, *, exit_code: int, index: int | None = None) -> tuple[int, Any]:
    """Run the step's shell script with /shared in tmp_path and a stand-in `mlgov` that records its
    arguments and exits with `exit_code`; returns the script's status and the recorded calls."""
    (container,) = pod(cronjob)["containers"]
    assert container["command"] == ["/bin/sh", "-c"]
    script = container["args"][0].replace("/shared", str(tmp_path / "shared"))
    bindir = tmp_path / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    fake = bindir / "mlgov"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" >> "{tmp_path}/calls"\necho --- >> "{tmp_path}/calls"\n'
                    f"exit {exit_code}\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    environ = {**os.environ, **env(container), "PATH": f"{bindir}:{os.environ['PATH']}"}
    if index is not None:
        environ["JOB_COMPLETION_INDEX"] = str(index)
    proc = subprocess.run(["/bin/sh", "-c", script], env=environ, capture_output=True, text=True, check=False)
    calls_file = tmp_path / "calls"
    text = calls_file.read_text() if calls_file.exists() else ""
    calls = [c.strip().splitlines() for c in text.split("---\n") if c.strip()]
    return proc.returncode, calls


def test_a_shard_pod_audits_its_shard_and_tolerates_a_partial_audit(
    docs: dict[tuple[str, str], Any], tmp_path: Path
) -> None:
    """Pod index 1 runs `audit --shard 2/4` saving snap-2.json without the state store; exit status 3
    (partial) leaves the pod successful, a config error (2) does not."""
    shards = docs[("CronJob", "mlgov-audit-shards")]
    code, calls = run_step(shards, tmp_path, exit_code=3, index=1)
    assert code == 0
    (argv,) = calls
    args = build_parser().parse_args(argv)
    (day,) = (tmp_path / "shared").iterdir()
    assert (args.shard, args.save_snapshot, args.no_state) == ("2/4", day / "snap-2.json", True)
    assert not args.notify and args.format == "json"
    assert run_step(shards, tmp_path / "again", exit_code=2, index=1)[0] == 2


def test_the_final_step_evaluates_every_shard_once_or_stops(
    docs: dict[tuple[str, str], Any], tmp_path: Path
) -> None:
    """With all 4 snapshots of the day it runs `audit --from-snapshot` x4 --notify; with one missing it
    stops with status 2 before calling mlgov."""
    merge = docs[("CronJob", "mlgov-audit-merge")]
    from datetime import UTC, datetime

    day = tmp_path / "shared" / datetime.now(UTC).strftime("%Y-%m-%d")
    day.mkdir(parents=True)
    for i in range(1, 4):
        (day / f"snap-{i}.json").write_text("{}")
    code, calls = run_step(merge, tmp_path, exit_code=0)
    assert (code, calls) == (2, [])
    (day / "snap-4.json").write_text("{}")
    code, calls = run_step(merge, tmp_path, exit_code=0)
    assert code == 0
    (argv,) = calls
    args = build_parser().parse_args(argv)
    assert args.from_snapshot == [day / f"snap-{i}.json" for i in range(1, 5)]
    assert args.notify and not args.no_state and args.shard is None
