"""Collection under load, against the benchmark emulator on loopback (HTTPS, real SDK clients).

- requests in flight never exceed the configured limit of their API family;
- a storm of 429s (server buckets far below what mlgov sends) slows the audit down but loses
  nothing and duplicates nothing: the snapshot is the one an unthrottled audit collects;
- a collection deadline that passes ends the run with the unfinished scopes failed (AUD-001);
- Azure retries get a random wait (jitter) on top of Retry-After.

No timing is asserted. Databricks retry waits are scaled down (a clock that sleeps 1/20 of what
it is asked); Azure retries wait for real (azure-core gives up after 3 throttled answers, so its
waits must let the server's bucket refill), which costs this suite a few seconds. The deadline
test only checks what the deadline leaves behind.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from azure.core.pipeline.transport import RequestsTransport

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the benchmark emulator lives in the repository's `benchmarks` package
    sys.path.insert(0, str(ROOT))

from benchmarks.emulator import Emulator, Limits, RateLimit  # noqa: E402
from benchmarks.run import write_config  # noqa: E402
from benchmarks.tenant import Tenant  # noqa: E402

from mlgov.audit import AuditOptions, AuditResult, run_audit  # noqa: E402
from mlgov.config import load_config  # noqa: E402
from mlgov.context import AuditContext  # noqa: E402
from mlgov.replay import StaticTokenCredential  # noqa: E402
from mlgov.snapshot import Snapshot  # noqa: E402

SCALE = 0.05
"""Databricks retry waits really slept, as a share of what the SDK asks for."""


class ScaledClock:
    """A databricks-sdk clock whose sleeps last `SCALE` of what is asked (time itself is real)."""

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds * SCALE)


class RecordingTransport(RequestsTransport):  # type: ignore[misc]
    """azure-core's requests transport, recording each retry wait (and sleeping it)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sleeps: list[float] = []

    def sleep(self, duration: float) -> None:
        self.sleeps.append(duration)
        super().sleep(duration)


class CountingEmulator(Emulator):
    """The emulator, also counting how many requests of each API family it serves at once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self.in_flight: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()

    def dispatch(self, kind: str | int, method: str, raw_path: str, headers: Any, body: bytes) -> Any:
        path = raw_path.split("?", 1)[0]
        if kind == "arm":
            family = "arm"
        elif "/mlflow/" in path and path.endswith("/search"):
            family = "mlflow_search"
        else:
            family = "databricks"
        with self._lock:
            self.in_flight[family] += 1
            self.peak[family] = max(self.peak[family], self.in_flight[family])
        try:
            return super().dispatch(kind, method, raw_path, headers, body)
        finally:
            with self._lock:
                self.in_flight[family] -= 1


def serve(monkeypatch: pytest.MonkeyPatch, *, latency_ms: float = 0.0, limits: Limits | None = None) -> Any:
    tenant = Tenant("small", seed=3, now_ms=int(time.time()) // 60 * 60_000)
    emulator = CountingEmulator(tenant, latency_ms=latency_ms, limits=limits or Limits.unlimited())
    emulator.start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emulator.ca_file)
    monkeypatch.setenv("SSL_CERT_FILE", emulator.ca_file)
    return emulator


@pytest.fixture
def tmp_config(tmp_path: Path) -> Iterator[Any]:
    def make(emulator: Emulator, collection: dict[str, Any]) -> Any:
        path = write_config(tmp_path / "mlgov.yaml", emulator.tenant, emulator.arm_url, emulator.databricks_hosts,
                            tmp_path)
        raw = yaml.safe_load(path.read_text())
        raw["collection"] = collection
        path.write_text(yaml.safe_dump(raw))
        return load_config(path)

    yield make


def audit(config: Any, **context: Any) -> tuple[AuditResult, AuditContext]:
    ctx = AuditContext(config, azure_credential=StaticTokenCredential(), **context)
    try:
        return run_audit(config, AuditOptions(), context=ctx), ctx
    finally:
        ctx.close()


def object_ids(snap: Snapshot) -> list[str]:
    """Every object of the snapshot by identity (duplicates kept, so that they can be counted)."""
    ids: list[str] = []
    for d in snap.databricks:  # by name: each emulator serves a workspace on a port of its own
        for kind in ("clusters", "jobs", "repos", "experiments", "tokens"):
            ids.extend(o.resource_id.replace(d.resource_id, d.name) for o in getattr(d, kind))
        ids.extend(f"{d.name}/runs/{r.run_id}" for r in d.runs)
    for a in snap.aml:
        ids.extend(c.resource_id for c in a.computes)
        ids.extend(j.resource_id.lower() for j in a.jobs)
    ids.extend(r.resource_id.lower() for r in snap.registries)
    ids.extend(f"{r.assignment_id}@{r.applies_to}".lower() for r in snap.role_assignments)
    return ids


def test_requests_in_flight_never_exceed_each_family_limit(
    monkeypatch: pytest.MonkeyPatch, tmp_config: Any
) -> None:
    """With small limits per API family, the emulator never sees more requests of a family at once."""
    emulator = serve(monkeypatch, latency_ms=20)
    limits = {"scopes": 4, "arm": 2, "databricks": 3, "mlflow_search": 1}
    try:
        config = tmp_config(emulator, {
            "concurrency": limits,
            "rate_limits": {"arm_per_second": 1000, "databricks_per_second": 1000, "mlflow_search_per_second": 1000},
        })
        result, ctx = audit(config)
    finally:
        emulator.stop()
    assert result.status == "success", result.snapshot.failed_scopes
    for family in ("arm", "databricks", "mlflow_search"):
        assert 1 <= emulator.peak[family] <= limits[family], (family, emulator.peak)
        assert ctx.limit(family).peak <= limits[family] and ctx.limit(family).in_flight == 0
    # The limit is a bound, not a queue of one: several Databricks requests did overlap.
    assert emulator.peak["databricks"] >= 2


def test_a_429_storm_slows_the_audit_but_loses_and_duplicates_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_config: Any
) -> None:
    """Server buckets far below mlgov's pace answer many 429s; every throttled call is retried
    (honouring Retry-After) and the snapshot holds exactly what an unthrottled audit collects."""
    unpaced = {
        "concurrency": {"scopes": 4, "arm": 8, "databricks": 8, "mlflow_search": 4},
        "rate_limits": {"arm_per_second": 1000, "databricks_per_second": 1000, "mlflow_search_per_second": 1000},
    }
    calm = serve(monkeypatch)
    try:
        expected, _ = audit(tmp_config(calm, unpaced))
        calm_stats = calm.stats.snapshot()
    finally:
        calm.stop()

    storm_limits = Limits(
        arm=RateLimit(10.0, 2.0), databricks=RateLimit(20.0, 3.0), mlflow_search=RateLimit(5.0, 1.0)
    )
    storm = serve(monkeypatch, limits=storm_limits)
    transport = RecordingTransport()
    try:
        result, _ = audit(
            tmp_config(storm, unpaced),
            databricks_overrides={"clock": ScaledClock()},
            azure_client_kwargs={"transport": transport},
        )
        stats = storm.stats.snapshot()
    finally:
        storm.stop()

    throttled = {r: s["status"].get("429", 0) for r, s in stats["routes"].items()}
    assert sum(throttled.values()) >= 10, throttled  # it was a storm
    assert any(n for r, n in throttled.items() if r.startswith("arm "))
    # Azure waited Retry-After (1 s here), then a random extra wait before the retried attempt.
    assert 1.0 in transport.sleeps and any(0 < s < 0.8 for s in transport.sleeps), transport.sleeps
    assert any(n for r, n in throttled.items() if r.startswith("databricks "))
    assert result.status == "success", result.snapshot.failed_scopes

    ids = object_ids(result.snapshot)
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1][:5]
    assert sorted(ids) == sorted(object_ids(expected.snapshot))
    assert result.snapshot.object_count() == expected.snapshot.object_count() > 1000
    # Every page was served once with success: the storm only added the 429 answers.
    ok = {r: s["status"].get("200", 0) for r, s in stats["routes"].items()}
    calm_ok = {r: s["status"].get("200", 0) for r, s in calm_stats["routes"].items()}
    assert ok == calm_ok


def test_a_deadline_that_passes_ends_the_run_with_unfinished_scopes_failed(
    monkeypatch: pytest.MonkeyPatch, tmp_config: Any
) -> None:
    """With a 1 s deadline and 150 ms per request, collection returns; what was not done by then is
    a failed scope saying that the deadline passed (AUD-001), never a partial record taken as complete."""
    emulator = serve(monkeypatch, latency_ms=150)
    try:
        config = tmp_config(emulator, {"concurrency": {"scopes": 2}})
        result, ctx = audit(config, timeout_seconds=1.0)
    finally:
        emulator.stop()
    snap = result.snapshot
    late = [s for s in snap.failed_scopes if s.code == "DeadlineExceeded"]
    assert late, snap.failed_scopes
    assert result.status in ("partial", "error")
    for status in late:
        assert status.error is not None and "collection.timeout_seconds = 1 s" in status.error
        assert status.hint is not None and "--shard" in status.hint
    # A workspace cut short is failed as a whole or family by family: none reads as complete.
    cut_short = {s.scope_id for s in late}
    families = ["clusters", "jobs", "runs", "repos", "experiments", "tokens"]
    assert any(ws.resource_id in cut_short for ws in snap.databricks)
    for ws in snap.databricks:
        if ws.resource_id in cut_short:
            assert not snap.is_complete(ws.resource_id, families)
    findings = [f for f in result.evaluation.findings if f.policy_id == "AUD-001"]
    assert any("deadline" in f.message for f in findings)
    assert ctx.deadline.passed


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_deadline_runs_from_its_start_and_stops_every_later_request() -> None:
    """Before start there is no deadline; after it, SDK retry windows are clipped to what is left, and once
    it has passed entering a limiter raises DeadlineExceeded (also for a thread waiting for a slot)."""
    from mlgov.context import Deadline, DeadlineExceeded, Limiter

    clock = FakeClock()
    deadline = Deadline(60, clock=clock)
    assert deadline.remaining() is None and not deadline.passed and deadline.clip(300) == 300
    deadline.start()
    clock.now += 50
    assert deadline.remaining() == 10 and deadline.clip(300) == 10
    limiter = Limiter("databricks", 1, deadline)
    with limiter:
        clock.now += 11  # the deadline passes while the only slot is taken
        with pytest.raises(DeadlineExceeded) as waited:
            limiter.__enter__()
    with pytest.raises(DeadlineExceeded):
        limiter.__enter__()
    assert (limiter.calls, limiter.in_flight) == (1, 0)
    assert waited.value.code == "DeadlineExceeded" and "--shard" in (waited.value.hint or "")


def test_a_deadline_error_becomes_a_failed_scope_with_its_own_hint() -> None:
    """Azure and Databricks collectors record the deadline as the scope's error, with the deadline's hint."""
    from mlgov.collectors.azure_common import failed_scope
    from mlgov.collectors.databricks import failure_status
    from mlgov.context import DeadlineExceeded

    exc = DeadlineExceeded(1800)
    azure = failed_scope(exc, scope_id="/subscriptions/x", scope_kind="subscription", family="*")
    dbx = failure_status("databricks://h", "runs", exc, calls=4)
    for status in (azure, dbx):
        assert not status.ok and status.code == "DeadlineExceeded" and status.status is None
        assert status.error is not None and "collection.timeout_seconds = 1800 s" in status.error
        assert status.hint == exc.hint
    assert dbx.calls == 4
