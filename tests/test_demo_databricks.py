"""The bundled demo: two Databricks workspaces replayed through the real collector and policies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mlgov.audit import AuditOptions, collect, run_audit
from mlgov.config import load_config
from mlgov.context import AuditContext
from mlgov.demo import demo_dir
from mlgov.replay import fake_pat, replaying

PROD = "databricks://adb-5555555555555555.15.azuredatabricks.net"
SANDBOX = "databricks://adb-6666666666666666.16.azuredatabricks.net"
REQUIRED = {"MLF-001", "MLF-002", "EXP-002", "GIT-001", "GIT-003", "CMP-001", "CST-001", "CST-004", "IAM-002",
            "AUD-001"}


@pytest.fixture
def demo_config(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("MLGOV_DEMO_TOKEN", fake_pat("demo-test"))
    return load_config(demo_dir() / "config.yaml")


def test_demo_files_ship_in_the_package(demo_config: Any) -> None:
    """demo_dir() holds the config and the cassette; the config names the two workspaces with PAT auth."""
    assert (demo_dir() / "databricks.yaml").is_file()
    names = [(w.name, w.host, w.auth.type) for w in demo_config.databricks.workspaces]
    assert names == [
        ("contoso-analytics-prod", "https://adb-5555555555555555.15.azuredatabricks.net", "pat"),
        ("contoso-sandbox", "https://adb-6666666666666666.16.azuredatabricks.net", "pat"),
    ]
    assert demo_config.azure is None


def test_demo_collects_both_workspaces(demo_config: Any) -> None:
    """Every recorded request is used; prod reads fully, the sandbox refuses token management only."""
    with replaying(demo_dir() / "databricks.yaml") as cass:
        snap = collect(AuditContext(demo_config), AuditOptions())
        assert cass.all_played
    prod, sandbox = snap.databricks
    assert (prod.resource_id, prod.name, sandbox.resource_id, sandbox.name) == (
        PROD, "contoso-analytics-prod", SANDBOX, "contoso-sandbox")
    failed = [(s.scope_id, s.family, s.status) for s in snap.failed_scopes]
    assert failed == [(SANDBOX, "tokens", 403)]
    assert sandbox.repos == () and len(sandbox.clusters) == 3
    assert len(prod.repos) == 3 and len(prod.jobs) == 6 and len(prod.tokens) == 4 and len(prod.experiments) == 5


def test_demo_job_on_all_purpose_cluster_has_a_month_of_runs(demo_config: Any) -> None:
    """store-replenishment-forecast ran 20 times in the last 30 days, 40-90 minutes each, on a DS4_v2 x 4."""
    with replaying(demo_dir() / "databricks.yaml"):
        snap = collect(AuditContext(demo_config), AuditOptions(targets=["contoso-analytics-prod"]))
    (prod,) = snap.databricks
    cluster = next(c for c in prod.clusters if c.name == "merch-forecasting-interactive")
    assert cluster.is_all_purpose and cluster.size.node_type_id == "Standard_DS4_v2"
    assert cluster.size.num_workers == 4
    runs = [r for r in prod.runs if r.job_id == 702]
    assert len(runs) == len(prod.runs) == 20
    now = datetime.now(UTC)
    for r in runs:
        assert 40 * 60_000 <= r.duration_ms <= 90 * 60_000
        assert r.start_time is not None and now - timedelta(days=30) < r.start_time < now
        assert {t.cluster_id for t in r.tasks} == {cluster.cluster_id}


def test_every_databricks_policy_fires_and_near_misses_do_not(demo_config: Any) -> None:
    """The demo's findings cover every Databricks policy and AUD-001, and spare the compliant look-alikes."""
    ctx = AuditContext(demo_config)
    with replaying(demo_dir() / "databricks.yaml"):
        result = run_audit(demo_config, AuditOptions(), context=ctx)
    findings = result.evaluation.findings
    fired = {f.policy_id for f in findings}
    assert fired >= REQUIRED, REQUIRED - fired
    hits = {(f.policy_id, f.resource_id.rsplit("/", 1)[-1]) for f in findings}
    for near_miss in [
        ("CST-001", "0702-073344-bi"),  # exactly 120 minutes
        ("CST-001", "0611-120000-mlgpu"),  # 60 minutes
        ("CST-001", "1122-020000-job701"),  # a job cluster
        ("GIT-001", "705"),  # notebook in a Git folder
        ("GIT-001", "701"),  # git_source
        ("CST-004", "701"),  # spot job cluster
        ("CST-004", "704"),  # spot task cluster
        ("IAM-002", "ae4b6f85a3d7c0b1e2f3a4b5c6d7e8f9"),  # exactly 90 days
        ("IAM-002", "9d3a5e74f2c6b9a0d1e2f3a4b5c6d7e8"),  # 60 days
        ("EXP-002", "3519288415343117"),  # old metadata, recent run
    ]:
        assert near_miss not in hits, near_miss
    cmp = next(f for f in findings if f.policy_id == "CMP-001")
    assert cmp.cost is not None and cmp.cost.monthly > 0
    assert not any(f.policy_id == "GIT-003" and f.resource_id == PROD for f in findings)
    assert result.status == "partial"
