"""record_run: lifecycle across runs, waivers, outbox and notifications, concurrency and crashes."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from standardwebhooks import Webhook

import mlgov.lifecycle as lifecycle
from lifecycle_support import (
    DBX,
    T0,
    Reply,
    config,
    finding,
    receiver,
    result,
    webhook_secret,
)
from mlgov.errors import StateStoreError
from mlgov.findings import FindingStatus, Severity
from mlgov.lifecycle import record_run
from mlgov.state.store import StateStore

OTHER = "databricks://adb-2222222222222222.12.azuredatabricks.net"
DAY = timedelta(days=1)


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def teams_dest(url: str, **kw: object) -> dict[str, object]:
    return {"name": "teams", "type": "teams", "url": url, "reminder_days": 0, **kw}


def hook_dest(url: str, **kw: object) -> dict[str, object]:
    return {"name": "hook", "type": "webhook", "url": url, "secret": webhook_secret(), "reminder_days": 0, **kw}


def test_new_open_resolved_reopened_across_runs(tmp_path: Path) -> None:
    """A finding is new, then open, resolved when gone from a covered scope, and reopened when back."""
    cfg = config(tmp_path)
    a, b = finding("CST-001", "a"), finding("MLF-001", "b", severity=Severity.HIGH)
    first = record_run(result([a, b]), cfg, notify=False, now=T0)
    assert first.lifecycle == {a.fingerprint: "new", b.fingerprint: "new"}
    assert [f.policy_id for f in first.findings] == ["MLF-001", "CST-001"]  # worst first

    second = record_run(result([a, b]), cfg, notify=False, now=T0 + DAY)
    assert second.lifecycle == {a.fingerprint: "open", b.fingerprint: "open"}
    assert second.resolved == ()

    third = record_run(result([a]), cfg, notify=False, now=T0 + 2 * DAY)
    assert [f.fingerprint for f in third.resolved] == [b.fingerprint]

    fourth = record_run(result([a, b]), cfg, notify=False, now=T0 + 3 * DAY)
    assert fourth.lifecycle[b.fingerprint] == "reopened"
    db = tmp_path / "state.db"
    (first_seen, state, reopened, resolved_at) = rows(
        db, f"SELECT first_seen, state, times_reopened, resolved_at FROM findings WHERE fingerprint='{b.fingerprint}'"
    )[0]
    assert (first_seen, state, reopened, resolved_at) == ("2026-11-02T06:00:00Z", "open", 1, None)
    assert [r[0] for r in rows(db, "SELECT status FROM runs ORDER BY finished_at")] == ["success"] * 4


def test_failed_scope_resolves_nothing(tmp_path: Path) -> None:
    """When a scope cannot be read, its findings stay open; other scopes still resolve."""
    cfg = config(tmp_path)
    here, there = finding("CST-001", "a"), finding("CST-001", "z", scope=OTHER)
    record_run(result([here, there], scopes=[DBX, OTHER]), cfg, notify=False, now=T0)
    out = record_run(result([], scopes=[DBX, OTHER], failed=[OTHER]), cfg, notify=False, now=T0 + DAY)
    assert [f.fingerprint for f in out.resolved] == [here.fingerprint]
    states = dict(rows(tmp_path / "state.db", "SELECT resource_name, state FROM findings"))
    assert states == {"a": "resolved", "z": "open"}


def test_policy_not_evaluated_resolves_nothing(tmp_path: Path) -> None:
    """A run limited to other policies (`--policy`) keeps the findings of the policies it skipped."""
    cfg = config(tmp_path)
    record_run(result([finding("CST-001", "a")]), cfg, notify=False, now=T0)
    out = record_run(result([], policies=["MLF-001"]), cfg, notify=False, now=T0 + DAY)
    assert out.resolved == ()


def test_unchanged_findings_are_never_posted_again(tmp_path: Path) -> None:
    """The first run posts what is new; a second identical run posts nothing; a change posts only it."""
    with receiver() as server:
        cfg = config(tmp_path, destinations=[teams_dest(server.url("/teams"))])
        a, b = finding("CST-001", "a"), finding("CST-001", "b")
        out = record_run(result([a]), cfg, notify=True, now=T0)
        assert (out.deliveries_sent, out.delivery_failures) == (1, 0)
        record_run(result([a]), cfg, notify=True, now=T0 + DAY)
        assert len(server.requests) == 1
        record_run(result([a, b]), cfg, notify=True, now=T0 + 2 * DAY)
        assert len(server.requests) == 2
        text = server.requests[1].body.decode()
        assert "cluster-a" not in text and "/clusters/b" not in text and ": b" in text
        assert "1 new" in text


def test_webhook_signature_verifies_and_id_is_stable_across_retries(tmp_path: Path) -> None:
    """Webhook posts verify with the standardwebhooks library; a retried post keeps its webhook-id."""
    with receiver() as server:
        server.script = [Reply(500), Reply(500), Reply(500), Reply(202)]
        cfg = config(tmp_path, destinations=[hook_dest(server.url())], notifications={"max_attempts": 4})
        out = record_run(result([finding()]), cfg, notify=True, now=T0)
        assert (out.deliveries_sent, out.delivery_failures) == (1, 0)
        assert len(server.requests) == 4
        assert len({r.headers["webhook-id"] for r in server.requests}) == 1
        last = server.requests[-1]
        payload = Webhook(webhook_secret()).verify(last.body, last.headers)
        assert payload["type"] == "mlgov.findings.changed"
        assert payload["data"]["counts"]["new"] == 1
        assert payload["data"]["new"][0]["policy_id"] == "CST-001"


def test_destination_down_for_a_run_is_delivered_once_next_run(tmp_path: Path) -> None:
    """A delivery that fails all run long stays in the outbox, goes out next run, and only once."""
    with receiver() as server:
        server.default = Reply(503)
        cfg = config(tmp_path, destinations=[hook_dest(server.url())], notifications={"max_attempts": 2})
        out = record_run(result([finding("CST-001", "a")]), cfg, notify=True, now=T0)
        assert (out.deliveries_sent, out.delivery_failures) == (0, 1)
        failed_ids = {r.headers["webhook-id"] for r in server.requests}
        server.default = Reply(202)
        server.requests.clear()
        out = record_run(result([finding("CST-001", "a"), finding("CST-001", "b")]), cfg, notify=True, now=T0 + DAY)
        assert (out.deliveries_sent, out.delivery_failures) == (2, 0)
        ids = [r.headers["webhook-id"] for r in server.requests]
        assert ids[0] in failed_ids  # the earlier run's delivery first, with the same id
        assert len(set(ids)) == 2
        server.requests.clear()
        record_run(result([finding("CST-001", "a"), finding("CST-001", "b")]), cfg, notify=True, now=T0 + 2 * DAY)
        assert server.requests == []
    statuses = rows(tmp_path / "state.db", "SELECT status, attempts FROM deliveries ORDER BY created_at")
    assert statuses == [("sent", 3), ("sent", 1)]


def test_permanent_refusal_is_not_retried(tmp_path: Path) -> None:
    """A 400 is final: one attempt, the delivery is marked dead and never posted again."""
    with receiver() as server:
        server.default = Reply(400, body=b'{"error":"bad card"}')
        cfg = config(tmp_path, destinations=[teams_dest(server.url())])
        out = record_run(result([finding()]), cfg, notify=True, now=T0)
        assert (out.deliveries_sent, out.delivery_failures, len(server.requests)) == (0, 1, 1)
        record_run(result([finding()]), cfg, notify=True, now=T0 + DAY)
        assert len(server.requests) == 1
    assert rows(tmp_path / "state.db", "SELECT status, last_status FROM deliveries") == [("dead", 400)]


def test_no_notify_keeps_deliveries_for_the_next_notifying_run(tmp_path: Path) -> None:
    """With notify=False the outbox is filled but nothing is posted until a run that notifies."""
    with receiver() as server:
        cfg = config(tmp_path, destinations=[teams_dest(server.url())])
        record_run(result([finding()]), cfg, notify=False, now=T0)
        assert server.requests == []
        out = record_run(result([finding()]), cfg, notify=True, now=T0 + DAY)
        assert out.deliveries_sent == 1 and len(server.requests) == 1


def test_destination_filters(tmp_path: Path) -> None:
    """min_severity, policies, targets and events decide what each destination receives."""
    with receiver() as server:
        dests = [
            hook_dest(server.url("/high"), name="high", min_severity="high"),
            hook_dest(server.url("/cst"), name="cst", policies=["CST-*"]),
            hook_dest(server.url("/other"), name="other", targets=["*adb-2222*"]),
            hook_dest(server.url("/resolved"), name="resolved", events=["resolved"]),
        ]
        cfg = config(tmp_path, destinations=dests)
        low = finding("CST-001", "a", severity=Severity.LOW)
        high = finding("MLF-001", "b", severity=Severity.HIGH)
        far = finding("EXP-002", "c", scope=OTHER)
        record_run(result([low, high, far], scopes=[DBX, OTHER]), cfg, notify=True, now=T0)
        got = {r.path: r.json()["data"] for r in server.requests}
        assert [f["policy_id"] for f in got["/high"]["new"]] == ["MLF-001"]
        assert [f["policy_id"] for f in got["/cst"]["new"]] == ["CST-001"]
        assert [f["resource"]["name"] for f in got["/other"]["new"]] == ["c"]
        assert "/resolved" not in got
        server.requests.clear()
        record_run(result([low, far], scopes=[DBX, OTHER]), cfg, notify=True, now=T0 + DAY)
        got = {r.path: r.json()["data"] for r in server.requests}
        assert set(got) == {"/high", "/resolved"}
        assert [f["policy_id"] for f in got["/resolved"]["resolved"]] == ["MLF-001"]


def test_reminder_digest_every_reminder_days(tmp_path: Path) -> None:
    """Still-open findings are re-sent as a reminder digest once every reminder_days, not every run."""
    with receiver() as server:
        cfg = config(tmp_path, destinations=[hook_dest(server.url(), reminder_days=7)])
        a = finding()
        for day in range(0, 15):
            record_run(result([a]), cfg, notify=True, now=T0 + day * DAY)
        types = [(r.json()["type"], r.json()["timestamp"][:10]) for r in server.requests]
        assert types == [
            ("mlgov.findings.changed", "2026-11-02"),
            ("mlgov.findings.reminder", "2026-11-09"),
            ("mlgov.findings.reminder", "2026-11-16"),
        ]
        reminder = server.requests[1].json()["data"]
        assert [f["fingerprint"] for f in reminder["open"]] == [a.fingerprint]


def test_new_destination_gets_a_reminder_of_what_was_already_open(tmp_path: Path) -> None:
    """A destination added to an existing store is sent the open findings it never heard of."""
    with receiver() as server:
        record_run(result([finding()]), config(tmp_path), notify=False, now=T0)
        cfg = config(tmp_path, destinations=[hook_dest(server.url(), reminder_days=7)])
        record_run(result([finding()]), cfg, notify=True, now=T0 + DAY)
        assert [r.json()["type"] for r in server.requests] == ["mlgov.findings.reminder"]


def _waivers(tmp: Path, expires: str, created: str | None = None, policy: str = "CST-001") -> Path:
    path = tmp / "waivers.yaml"
    lines = [
        "version: 1",
        "waivers:",
        f"  - policy: {policy}",
        f"    resource: '{DBX.upper()}/CLUSTERS/*'",
        "    reason: Shared demo cluster stopped by a script",
        "    owner: alice@example.com",
        f"    expires: {expires}",
    ]
    if created:
        lines.append(f"    created: {created}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_waived_findings_are_reported_but_not_notified(tmp_path: Path) -> None:
    """A waiver marks matching findings waived with its reason, owner and expiry, and they are not posted."""
    with receiver() as server:
        cfg = config(
            tmp_path, destinations=[hook_dest(server.url())], waivers=_waivers(tmp_path, "2026-12-31", "2026-11-01")
        )
        out = record_run(result([finding("CST-001", "a"), finding("MLF-001", "b")]), cfg, notify=True, now=T0)
        waived = [f for f in out.findings if f.status is FindingStatus.WAIVED]
        assert [f.policy_id for f in waived] == ["CST-001"]
        assert waived[0].waiver == {
            "policy": "CST-001",
            "resource": f"{DBX.upper()}/CLUSTERS/*",
            "reason": "Shared demo cluster stopped by a script",
            "owner": "alice@example.com",
            "expires": "2026-12-31",
        }
        data = server.requests[0].json()["data"]
        assert [f["policy_id"] for f in data["new"]] == ["MLF-001"]
        assert data["counts"]["waived"] == 1
    applied = rows(tmp_path / "state.db", "SELECT owner, expires FROM run_waivers")
    assert applied == [("alice@example.com", "2026-12-31")]


def test_expired_waiver_reopens_its_finding_and_is_reported_once(tmp_path: Path) -> None:
    """When a waiver expires its finding is reopened and notified, with a waiver_expired event, once."""
    with receiver() as server:
        waivers = _waivers(tmp_path, "2026-11-05", "2026-11-01")
        cfg = config(tmp_path, destinations=[hook_dest(server.url())], waivers=waivers)
        a = finding("CST-001", "a")
        first = record_run(result([a]), cfg, notify=True, now=T0)
        assert first.findings[0].status is FindingStatus.WAIVED
        assert [w["state"] for w in first.expiring_waivers] == ["expiring"]
        assert [r.json()["data"]["waiver_events"][0]["event"] for r in server.requests] == ["waiver_expiring"]
        server.requests.clear()
        record_run(result([a]), cfg, notify=True, now=T0 + DAY)
        assert server.requests == []  # the expiring notice is sent once
        after = record_run(result([a]), cfg, notify=True, now=T0 + 4 * DAY)
        assert after.findings[0].status is FindingStatus.FAIL
        assert after.lifecycle[a.fingerprint] == "reopened"
        assert after.expiring_waivers[0]["state"] == "expired"
        assert after.expiring_waivers[0]["findings"] == "1"
        data = server.requests[0].json()["data"]
        assert [f["fingerprint"] for f in data["reopened"]] == [a.fingerprint]
        assert [e["event"] for e in data["waiver_events"]] == ["waiver_expired"]
        server.requests.clear()
        again = record_run(result([a]), cfg, notify=True, now=T0 + 5 * DAY)
        assert again.lifecycle[a.fingerprint] == "open"
        assert again.expiring_waivers[0]["state"] == "expired"  # still listed in reports
        assert server.requests == []  # but notified once


def test_unknown_policy_in_waivers_stops_the_run_before_the_store_changes(tmp_path: Path) -> None:
    """A waivers file naming an unknown policy raises WaiverError and records nothing."""
    from mlgov.errors import WaiverError

    cfg = config(tmp_path, waivers=_waivers(tmp_path, "2026-12-01", policy="XYZ-999"))
    with pytest.raises(WaiverError, match=r"waivers\[0\]\.policy: unknown policy id 'XYZ-999'"):
        record_run(result([finding()]), cfg, notify=False, now=T0)
    assert not (tmp_path / "state.db").exists()


def test_crash_before_commit_leaves_the_previous_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception in the middle of recording a run rolls everything back, outbox included."""
    with receiver() as server:
        cfg = config(tmp_path, destinations=[teams_dest(server.url())])
        record_run(result([finding("CST-001", "a")]), cfg, notify=False, now=T0)
        db = tmp_path / "state.db"
        before = {t: rows(db, f"SELECT * FROM {t}") for t in ("runs", "findings", "deliveries", "destinations")}

        def boom(*args: object, **kwargs: object) -> object:
            raise RuntimeError("injected crash")

        monkeypatch.setattr(lifecycle, "plan_deliveries", boom)
        with pytest.raises(RuntimeError, match="injected crash"):
            record_run(result([finding("CST-001", "b")]), cfg, notify=True, now=T0 + DAY)
        after = {t: rows(db, f"SELECT * FROM {t}") for t in before}
        assert after == before
        assert server.requests == []
        monkeypatch.undo()
        out = record_run(result([finding("CST-001", "b")]), cfg, notify=True, now=T0 + DAY)
        assert len(out.resolved) == 1 and out.deliveries_sent == 2  # run 1's pending + this run's


def test_second_audit_fails_clearly_while_the_store_is_locked(tmp_path: Path) -> None:
    """While one process holds the store, another record_run waits, then names the holder."""
    cfg = config(tmp_path, lock_timeout=0.3)
    with StateStore.open(tmp_path / "state.db"), pytest.raises(StateStoreError) as caught:
        record_run(result([finding()]), cfg, notify=False, now=T0)
    message = str(caught.value)
    assert "another mlgov audit is using the state store" in message
    assert "pid " in message and "on host " in message and "started " in message
    assert caught.value.hint
    out = record_run(result([finding()]), cfg, notify=False, now=T0)  # and works once released
    assert out.lifecycle == {finding().fingerprint: "new"}


def test_concurrent_runs_wait_for_each_other_without_corruption(tmp_path: Path) -> None:
    """Two record_run calls at once on one file both complete, one after the other, consistently."""
    with receiver() as server:
        server.release.clear()  # hold the first run's POST until the second run is waiting
        cfg = config(tmp_path, destinations=[teams_dest(server.url())], lock_timeout=20)
        outcomes: dict[str, object] = {}

        def run(name: str, day: int) -> None:
            outcomes[name] = record_run(result([finding("CST-001", name)]), cfg, notify=True, now=T0 + day * DAY)

        first = threading.Thread(target=run, args=("a", 0))
        first.start()
        while not server.requests:  # the first run holds the lock while it posts
            threading.Event().wait(0.01)
        second = threading.Thread(target=run, args=("b", 1))
        second.start()
        second.join(0.3)
        assert second.is_alive()  # waiting for the lock
        server.release.set()
        first.join(10)
        second.join(10)
        assert set(outcomes) == {"a", "b"}
    db = tmp_path / "state.db"
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert len(rows(db, "SELECT * FROM runs")) == 2
    assert dict(rows(db, "SELECT resource_name, state FROM findings")) == {"a": "resolved", "b": "open"}
    assert rows(db, "SELECT status FROM deliveries") == [("sent",), ("sent",)]


def test_waiver_events_follow_the_destination_policy_filter(tmp_path: Path) -> None:
    """A waiver on CST-* reaches a destination filtered on CST-001, not one filtered on MLF-*."""
    with receiver() as server:
        path = _waivers(tmp_path, "2026-11-05", "2026-11-01", policy="CST-*")
        dests = [hook_dest(server.url("/cst"), name="cst", policies=["CST-001"]),
                 hook_dest(server.url("/mlf"), name="mlf", policies=["MLF-*"])]
        record_run(result([finding("MLF-001", "m")]), config(tmp_path, destinations=dests, waivers=path),
                   notify=True, now=T0)
        got = {r.path: r.json()["data"] for r in server.requests}
    assert [e["policy"] for e in got["/cst"]["waiver_events"]] == ["CST-*"]
    assert got["/mlf"]["waiver_events"] == []
