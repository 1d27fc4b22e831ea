"""End to end: `mlgov audit --demo --notify` twice posts once, and a change posts only the change."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import yaml
from standardwebhooks import Webhook

from lifecycle_support import receiver, webhook_secret
from mlgov.audit import AuditOptions
from mlgov.cli import main
from mlgov.runner import demo_config, execute
from mlgov.snapshot import load, save


def overlay(tmp_path: Path, hook_url: str, teams_url: str) -> Path:
    path = tmp_path / "mlgov.yaml"
    path.write_text(yaml.safe_dump({
        "version": 1,
        "state": {"path": str(tmp_path / "state.db")},
        "notifications": {
            "min_interval_seconds": 0,
            "destinations": [
                {"name": "platform-hook", "type": "webhook", "url": hook_url, "secret": webhook_secret()},
                {"name": "platform-teams", "type": "teams", "url": teams_url},
            ],
        },
    }))
    return path


def test_two_demo_runs_post_once_then_nothing(tmp_path: Path) -> None:
    """The first notifying run posts the findings; an identical second run posts nothing."""
    with receiver() as rx:
        cfg = overlay(tmp_path, rx.url("/hook"), rx.url("/teams"))
        assert main(["audit", "--demo", "--config", str(cfg), "--notify", "--format", "json",
                     "--output", str(tmp_path / "r1.json")]) == 3
        first = list(rx.requests)
        assert {r.path for r in first} == {"/hook", "/teams"}
        hook = next(r for r in first if r.path == "/hook")
        Webhook(webhook_secret()).verify(hook.body, hook.headers)  # raises if the signature is wrong
        body = hook.json()
        assert body["type"] == "mlgov.findings.changed" and len(body["data"]["new"]) > 10
        teams = next(r for r in first if r.path == "/teams")
        assert len(teams.body) <= 20 * 1024 and teams.json()["type"] == "message"

        assert main(["audit", "--demo", "--config", str(cfg), "--notify", "--format", "json",
                     "--output", str(tmp_path / "r2.json")]) == 3
        assert rx.requests == first  # nothing new was posted


def test_a_change_in_the_tenant_posts_only_the_change(tmp_path: Path) -> None:
    """After the tenant fixes one cluster, the next run posts exactly that resolution."""
    snap_path = tmp_path / "snap.json"
    with receiver() as rx:
        cfg_path = overlay(tmp_path, rx.url("/hook"), rx.url("/teams"))
        config = demo_config(cfg_path)
        execute(config, AuditOptions(save_snapshot=snap_path), demo=True, notify=True)
        rx.requests.clear()

        snap = load(snap_path)
        prod = next(w for w in snap.databricks if w.name == "contoso-analytics-prod")
        fixed_clusters = tuple(
            replace(c, autotermination_minutes=60) if c.name == "shared-analytics" else c for c in prod.clusters
        )
        changed = replace(snap, databricks=tuple(
            replace(w, clusters=fixed_clusters) if w is prod else w for w in snap.databricks
        ))
        save(changed, snap_path)
        execute(config, AuditOptions(from_snapshot=snap_path), notify=True, use_state=True)

        hooks = [r for r in rx.requests if r.path == "/hook"]
        assert len(hooks) == 1
        data = json.loads(hooks[0].body)["data"]
        assert data["new"] == [] and data["reopened"] == []
        assert [(f["policy_id"], f["resource"]["name"]) for f in data["resolved"]] == [
            ("CST-001", "shared-analytics")
        ]
