"""Tests of the scheduled service: cron firing, no overlap, crash survival, probes and clean shutdown."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.triggers.cron import CronTrigger
from prometheus_client.parser import text_string_to_metric_families

from mlgov.errors import ConfigError
from mlgov.service.scheduler import AUDIT_JOB, Service

from .conftest import LogCapture
from .helpers import FakeRun, wait_until

EVERY_SECOND = CronTrigger(second="*", timezone=UTC)


def get(service: Service, path: str) -> tuple[int, str, str]:
    assert service.http_address is not None
    host, port = service.http_address
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=10) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read().decode()


def test_runs_fire_on_the_schedule_and_touch_the_heartbeat(
    make_service: Callable[..., Service], logs: LogCapture, tmp_path: Path
) -> None:
    """With a trigger firing every second, runs keep happening, each logged with a run id; the heartbeat is written."""
    fake = FakeRun()
    service = make_service(fake, trigger=EVERY_SECOND)
    service.start()
    assert wait_until(lambda: service.metrics.runs_total["success"] >= 2)
    assert (tmp_path / "run" / "heartbeat").is_file()
    finished = logs.named("run.finished")
    assert len({e["run_id"] for e in finished}) == len(finished) >= 2
    assert finished[0]["status"] == "success" and finished[0]["findings"] == {"high": 2, "low": 1}


def test_job_is_registered_one_at_a_time_with_the_configured_grace(make_service: Callable[..., Service]) -> None:
    """The audit job has max_instances=1, coalesce and the misfire grace of the config."""
    service = make_service(FakeRun(), misfire_grace_seconds=1234)
    service.start()
    job = service._scheduler.get_job(AUDIT_JOB)
    assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, 1234)


def test_a_run_later_than_the_misfire_grace_is_missed_not_run(
    make_service: Callable[..., Service], logs: LogCapture
) -> None:
    """A run found due longer ago than serve.misfire_grace_seconds is dropped, logged and counted as missed."""
    fake = FakeRun()
    service = make_service(fake, misfire_grace_seconds=1)
    service.start()
    service._scheduler.modify_job(AUDIT_JOB, next_run_time=datetime.now(UTC) - timedelta(minutes=5))
    assert wait_until(lambda: service.metrics.runs_total["missed"] == 1)
    assert fake.calls == 0 and logs.named("run.missed")[0]["level"] == "warning"


def test_a_run_due_while_one_is_going_on_is_skipped_and_counted(
    make_service: Callable[..., Service], logs: LogCapture
) -> None:
    """A second trigger during a slow run starts no second run; it is logged and counted as skipped."""
    fake = FakeRun(gated=True)
    service = make_service(fake, run_at_start=True)
    service.start()
    assert fake.started.wait(20)
    service.trigger_now()
    assert wait_until(lambda: service.metrics.runs_total["skipped"] == 1)
    fake.gate.set()
    assert wait_until(lambda: service.metrics.runs_total["success"] == 1)
    assert fake.calls == 1
    assert logs.named("run.skipped")[0]["level"] == "warning"
    metrics = {s.name: s.value for f in text_string_to_metric_families(service.metrics.render()) for s in f.samples
               if s.labels.get("status") == "skipped"}
    assert metrics == {"mlgov_runs_total": 1.0}


def test_a_crashing_run_does_not_stop_the_service(make_service: Callable[..., Service], logs: LogCapture) -> None:
    """A run that raises is logged with its error class and counted; the next run still happens and health stays ok."""
    fake = FakeRun(fail_on=(1,))
    service = make_service(fake, trigger=EVERY_SECOND)
    service.start()
    assert wait_until(lambda: service.metrics.runs_total["success"] >= 1)
    assert service.metrics.runs_total["error"] == 1
    failed = logs.named("run.failed")[0]
    assert failed["error_class"] == "RuntimeError" and "collector crashed on call 1" in failed["exception"]
    assert logs.named("run.finished")[0]["status"] == "error"
    ok, body = service.healthy()
    assert ok and body["scheduler"] == "running"


def test_an_mlgov_error_is_logged_with_its_hint(make_service: Callable[..., Service], logs: LogCapture) -> None:
    """A user-facing error from a run is logged with its class, message and hint, without a traceback."""

    def broken() -> Any:
        raise ConfigError("mlgov.yaml: databricks.workspaces[0].auth.token: variable X is not set", hint="Export X.")

    service = make_service(broken, http=False)
    summary, error = service.execute()
    assert summary.status == "error" and summary.error == "ConfigError" and isinstance(error, ConfigError)
    (failed,) = logs.named("run.failed")
    assert failed["hint"] == "Export X." and "exception" not in failed
    assert service.metrics.last_run is not None and service.metrics.last_run.summary.error == "ConfigError"


def test_probes_report_health_readiness_last_run_and_metrics(make_service: Callable[..., Service]) -> None:
    """/healthz and /readyz answer 200 with the last run, /metrics parses as Prometheus text, others 404."""
    fake = FakeRun(status="partial")
    service = make_service(fake, run_at_start=True)
    assert service.ready()[0] is False  # not started yet
    service.start()
    assert wait_until(lambda: service.metrics.last_run is not None)

    code, ctype, body = get(service, "/healthz")
    assert code == 200 and ctype == "application/json" and json.loads(body)["scheduler"] == "running"

    code, _, body = get(service, "/readyz")
    ready = json.loads(body)
    assert code == 200 and ready["status"] == "ready" and ready["next_run"] is not None
    assert ready["last_run"]["status"] == "partial" and ready["last_run"]["findings"] == {"high": 2, "low": 1}
    assert ready["runs_total"]["partial"] == 1

    code, ctype, text = get(service, "/metrics")
    assert code == 200 and ctype.startswith("text/plain; version=0.0.4")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(text) for s in f.samples}
    assert samples[("mlgov_last_run_status", (("status", "partial"),))] == 1
    assert samples[("mlgov_last_run_status", (("status", "success"),))] == 0
    assert samples[("mlgov_findings", (("severity", "high"),))] == 2
    assert samples[("mlgov_api_calls_total", (("family", "databricks"),))] == 7
    assert samples[("mlgov_delivery_failures_total", ())] == 1
    assert samples[("mlgov_runs_total", (("status", "partial"),))] == 1
    assert samples[("mlgov_last_run_duration_seconds", ())] == 0.5
    assert samples[("mlgov_last_run_timestamp_seconds", ())] > 0

    assert get(service, "/nothing")[0] == 404


def test_shutdown_lets_the_current_run_finish(make_service: Callable[..., Service], logs: LogCapture) -> None:
    """Stopping during a run stops scheduling, waits for the run to end, and reports a clean stop."""
    fake = FakeRun(gated=True)
    service = make_service(fake, run_at_start=True, shutdown_grace_seconds=60)
    service.start()
    assert fake.started.wait(20)
    result: list[bool] = []
    stopper = threading.Thread(target=lambda: result.append(service.shutdown()))
    stopper.start()
    assert wait_until(lambda: bool(logs.named("serve.waiting_for_run")))
    assert service.ready()[0] is False and stopper.is_alive()
    fake.gate.set()
    stopper.join(20)
    assert result == [True]
    assert fake.finished == 1 and service.metrics.runs_total["success"] == 1
    assert logs.named("serve.stopped")


def test_shutdown_gives_up_after_the_grace_period(make_service: Callable[..., Service], logs: LogCapture) -> None:
    """A run still going on after the grace period is left behind and the stop says so."""
    fake = FakeRun(gated=True)
    service = make_service(fake, run_at_start=True, shutdown_grace_seconds=0)
    service.start()
    assert fake.started.wait(20)
    try:
        assert service.shutdown() is False
        assert logs.named("serve.run_abandoned")
    finally:
        fake.gate.set()
    assert wait_until(lambda: service.metrics.last_run is not None)  # the left-behind run ends on its own


def test_a_second_stop_request_stops_waiting(make_service: Callable[..., Service]) -> None:
    """A second SIGTERM/SIGINT (request_stop twice) ends the wait for the run at once."""
    fake = FakeRun(gated=True)
    service = make_service(fake, run_at_start=True, shutdown_grace_seconds=3600)
    service.start()
    assert fake.started.wait(20)
    service.request_stop("SIGTERM")
    service.request_stop("SIGINT")
    try:
        assert service.wait_for_stop(timeout=5)
        assert service.shutdown() is False
    finally:
        fake.gate.set()
    assert wait_until(lambda: service.metrics.last_run is not None)


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_fail_once_the_scheduler_has_stopped(make_service: Callable[..., Service], path: str) -> None:
    """After shutdown the service reports itself neither healthy nor ready."""
    service = make_service(FakeRun(), http=False)
    service.start()
    service.shutdown()
    ok, body = service.healthy() if path == "/healthz" else service.ready()
    assert ok is False and body["status"] in {"unhealthy", "stopping"}


def test_a_port_in_use_is_a_config_error_naming_it(make_service: Callable[..., Service]) -> None:
    """If serve.port is taken, start() fails with a ConfigError that names the address and what to do."""
    first = make_service(FakeRun())
    first.start()
    assert first.http_address is not None
    taken = first.http_address[1]
    second = make_service(FakeRun(), port=taken)
    with pytest.raises(ConfigError, match=rf"cannot listen on 127.0.0.1:{taken}") as err:
        second.start()
    assert err.value.hint and "serve.port" in err.value.hint
