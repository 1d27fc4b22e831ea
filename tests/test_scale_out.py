"""Scale-out: shards save snapshots, one final step evaluates them together (docs/scale-out.md).

The bundled demo tenant (two subscriptions' worth of AML and Databricks workspaces, replayed)
is audited in two shards with `--shard I/2 --save-snapshot --no-state`; `--from-snapshot`
given once per shard then reports exactly what one whole audit reports, and its state store
and notifications behave as for one audit.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from lifecycle_support import receiver, webhook_secret
from mlgov.audit import merge_snapshots
from mlgov.cli import main
from mlgov.errors import UsageError
from mlgov.snapshot import load, save


def shards(tmp_path: Path, count: int = 2) -> list[Path]:
    paths = []
    for i in range(1, count + 1):
        path = tmp_path / f"snap-{i}.json"
        code = main(["audit", "--demo", "--shard", f"{i}/{count}", "--save-snapshot", str(path), "--no-state",
                     "--format", "json", "--output", str(tmp_path / f"shard-{i}.json")])
        assert code in (0, 3)  # 3: the demo holds a scope that cannot be read (AUD-001)
        paths.append(path)
    return paths


def findings(report: Path) -> list[tuple[str, str, str]]:
    body = json.loads(report.read_text())
    # Identity, not wording: messages quote ages in days, which move between two runs near midnight.
    return sorted((f["policy_id"], f["resource"]["id"], f["fingerprint"]) for f in body["findings"])


def from_snapshots(paths: list[Path]) -> list[str]:
    return [arg for p in paths for arg in ("--from-snapshot", str(p))]


def test_shards_evaluated_together_report_what_one_audit_reports(tmp_path: Path) -> None:
    """Every workspace is in exactly one shard, and the shards' snapshots together give the findings of
    one whole audit: no finding lost, none twice."""
    paths = shards(tmp_path)
    snaps = [load(p) for p in paths]
    per_shard = [{w.resource_id for w in (*s.databricks, *s.aml)} for s in snaps]
    assert all(per_shard) and not per_shard[0] & per_shard[1]

    assert main(["audit", *from_snapshots(paths), "--format", "json", "--output", str(tmp_path / "merged.json")]) == 3
    assert main(["audit", "--demo", "--no-state", "--format", "json", "--output", str(tmp_path / "whole.json")]) == 3
    merged, whole = findings(tmp_path / "merged.json"), findings(tmp_path / "whole.json")
    assert merged == whole and len(set(merged)) == len(merged) > 10


def test_the_merged_snapshot_keeps_shared_facts_once() -> None:
    """Discovery facts every shard read alike are kept once; a registry used from two shards is one
    record used by both workspaces; the time is the latest shard's."""
    from datetime import UTC, datetime, timedelta

    from mlgov.inventory import AmlWorkspaceRef, ContainerRegistry, ScopeStatus, SubscriptionInfo
    from mlgov.snapshot import Snapshot

    t0 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    sub = ScopeStatus(scope_id="/subscriptions/s1", scope_kind="subscription", family="*", ok=True, calls=2)
    common = {
        "scopes": (sub,),
        "subscriptions": (SubscriptionInfo(subscription_id="s1"),),
        "known_aml_workspaces": (AmlWorkspaceRef(resource_id="/x/ws-a", name="ws-a", location=None),),
        "complete_subscriptions": ("s1",),
    }
    reg = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/cr"
    used_by_a = ContainerRegistry(resource_id=reg, name="cr", exists=True, used_by=("/x/ws-a",))
    used_by_b = ContainerRegistry(resource_id=reg.upper(), name="cr", exists=True, used_by=("/x/ws-b",))
    a = Snapshot(taken_at=t0, registries=(used_by_a,), **common)
    b = Snapshot(taken_at=t0 + timedelta(minutes=7), registries=(used_by_b,), **common)
    merged = merge_snapshots([a, b])
    assert merged.taken_at == t0 + timedelta(minutes=7)
    assert (merged.scopes, merged.subscriptions, merged.complete_subscriptions) == (
        (sub,), common["subscriptions"], ("s1",))
    assert len(merged.known_aml_workspaces) == 1
    (registry,) = merged.registries
    assert registry.used_by == ("/x/ws-a", "/x/ws-b")


def test_a_snapshot_given_twice_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Overlapping snapshots would report each finding twice: a usage error names the workspace and files."""
    first = shards(tmp_path)[0]
    assert main(["audit", "--from-snapshot", str(first), "--from-snapshot", str(first)]) == 2
    err = capsys.readouterr().err
    assert "is in both" in err and "--shard I/N" in err
    with pytest.raises(UsageError):
        merge_snapshots([load(first), load(first)])


def test_the_final_step_keeps_one_state_store_and_notifies_once(tmp_path: Path) -> None:
    """The final step records the run and posts the new findings once; run again it posts nothing; when
    one shard's workspace fixes a cluster, only that resolution is posted and the other shard's
    findings stay open."""
    paths = shards(tmp_path)
    with receiver() as rx:
        cfg = tmp_path / "mlgov.yaml"
        cfg.write_text(yaml.safe_dump({
            "version": 1,
            "azure": {},  # the shards' config: the final step reads only its state and notifications
            "state": {"path": str(tmp_path / "state.db")},
            "notifications": {"min_interval_seconds": 0, "destinations": [
                {"name": "hook", "type": "webhook", "url": rx.url("/hook"), "secret": webhook_secret()}]},
        }))
        final = ["audit", "--config", str(cfg), *from_snapshots(paths), "--notify", "--format", "json"]
        assert main([*final, "--output", str(tmp_path / "r1.json")]) == 3
        (first,) = rx.requests
        assert len(first.json()["data"]["new"]) > 10
        assert main([*final, "--output", str(tmp_path / "r2.json")]) == 3
        assert len(rx.requests) == 1  # nothing new

        owner = next(p for p in paths if any(w.name == "contoso-analytics-prod" for w in load(p).databricks))
        snap = load(owner)
        fixed = tuple(
            replace(w, clusters=tuple(replace(c, autotermination_minutes=60) if c.name == "shared-analytics" else c
                                      for c in w.clusters))
            for w in snap.databricks
        )
        save(replace(snap, databricks=fixed), owner)
        assert main([*final, "--output", str(tmp_path / "r3.json")]) == 3
        (_, last) = rx.requests
        data = last.json()["data"]
        assert data["new"] == [] and data["reopened"] == []
        assert [(f["policy_id"], f["resource"]["name"]) for f in data["resolved"]] == [("CST-001", "shared-analytics")]
