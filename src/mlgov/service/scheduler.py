"""The scheduled service: APScheduler 3 runs the audit on its cron, one run at a time.

`Service` owns a `BackgroundScheduler` (the main thread waits for a signal), the HTTP probe
server and the heartbeat file. The audit itself is a seam, `run_once() -> RunSummary`, so tests
drive the service with fakes and production plugs in `mlgov.runner.execute`.

- One run at a time: `max_instances=1, coalesce=True`; a run due while another still runs is
  skipped, logged and counted (`mlgov_runs_total{status="skipped"}`).
- Misfire grace from the config (APScheduler's default of 1 s would drop a run delayed by a
  busy process); a run later than that is `missed`.
- A run that raises is logged with its error class and counted; the service goes on.
- SIGTERM or SIGINT: stop scheduling, let the current run finish for up to
  `shutdown_grace_seconds` (a second signal stops waiting), then return. The caller exits 0.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from mlgov.config import ServeConfig
from mlgov.errors import ConfigError, MlgovError
from mlgov.logs import get_logger, run_context
from mlgov.service.cron import build_trigger, zone
from mlgov.service.http import HealthServer, Probe
from mlgov.service.metrics import RunSummary, ServiceMetrics

log = get_logger(__name__)

AUDIT_JOB = "audit"
HEARTBEAT_JOB = "heartbeat"
RunOnce = Callable[[], RunSummary]


class Service:
    """The audit on a schedule, with probes, metrics, a heartbeat and a clean shutdown."""

    def __init__(
        self,
        run_once: RunOnce,
        serve: ServeConfig,
        *,
        trigger: Any | None = None,
        http: bool = True,
    ) -> None:
        """`trigger` replaces the cron of `serve` (tests use a short interval); `http=False` skips the probes."""
        self.serve = serve
        self.tz = zone(serve.timezone)
        self.trigger = trigger if trigger is not None else build_trigger(serve.cron, self.tz)
        self.metrics = ServiceMetrics()
        self.heartbeat_path = Path(serve.heartbeat_file) if serve.heartbeat_file else None
        self._run_once = run_once
        self._want_http = http
        self._scheduler: Any = None
        self._http: HealthServer | None = None
        self._stop = threading.Event()
        self._force = threading.Event()
        self._idle = threading.Condition()
        self._active = 0
        self._started = False
        self._stopping = False
        self._signals: list[str] = []
        self._last_tick = time.monotonic()
        self._heartbeat_warned = False

    # --- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the scheduler (and the probe server); returns at once."""
        from apscheduler.events import (
            EVENT_JOB_ERROR,
            EVENT_JOB_MAX_INSTANCES,
            EVENT_JOB_MISSED,
        )
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.interval import IntervalTrigger

        scheduler = BackgroundScheduler(
            timezone=self.tz,
            executors={"default": ThreadPoolExecutor(max_workers=2)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": self.serve.misfire_grace_seconds,
            },
        )
        scheduler.add_listener(self._on_event, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED | EVENT_JOB_ERROR)
        first: dict[str, Any] = {"next_run_time": datetime.now(self.tz)} if self.serve.run_at_start else {}
        scheduler.add_job(self._job, trigger=self.trigger, id=AUDIT_JOB, name="mlgov audit", **first)
        scheduler.add_job(
            self._tick,
            trigger=IntervalTrigger(seconds=self.serve.heartbeat_interval_seconds, timezone=self.tz),
            id=HEARTBEAT_JOB,
            name="mlgov heartbeat",
        )
        if self._want_http:
            try:
                self._http = HealthServer(Probe(self.healthy, self.ready, self.metrics.render),
                                          self.serve.host, self.serve.port)
            except OSError as exc:
                raise ConfigError(
                    f"serve: cannot listen on {self.serve.host}:{self.serve.port} ({exc.strerror or exc})",
                    hint="Choose another serve.port (or --port), or stop what is using it.",
                ) from exc
            self._http.start()
        scheduler.start()
        self._scheduler = scheduler
        self._started = True
        self._tick()
        job = scheduler.get_job(AUDIT_JOB)
        log.info(
            "serve.started",
            cron=self.serve.cron,
            timezone=self.serve.timezone,
            next_run=_iso(job.next_run_time if job else None),
            http=f"{self.http_address[0]}:{self.http_address[1]}" if self.http_address else None,
            heartbeat_file=str(self.heartbeat_path) if self.heartbeat_path else None,
            misfire_grace_seconds=self.serve.misfire_grace_seconds,
        )

    def request_stop(self, reason: str = "requested") -> None:
        """Ask the service to stop (safe to call from a signal handler); a second call stops waiting."""
        self._signals.append(reason)
        if len(self._signals) > 1:
            self._force.set()
        self._stop.set()

    def wait_for_stop(self, timeout: float | None = None) -> bool:
        """Block until `request_stop()`; True when it was requested."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._stop.wait(0.5):
            if deadline is not None and time.monotonic() >= deadline:
                return False
        return True

    def shutdown(self) -> bool:
        """Stop scheduling, let the current run finish within the grace period, stop the probes.

        Returns True when no run was left behind.
        """
        self._stopping = True
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.pause()
        grace = self.serve.shutdown_grace_seconds
        running = self.metrics.current_run
        if running:
            log.info("serve.waiting_for_run", grace_seconds=grace, waiting_for=running[0])
        deadline = time.monotonic() + grace
        with self._idle:
            while self._active and not self._force.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._idle.wait(min(remaining, 0.25))
            clean = self._active == 0
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        if self._http is not None:
            self._http.stop()
        if clean:
            log.info("serve.stopped", runs=dict(self.metrics.runs_total))
        else:
            log.warning(
                "serve.run_abandoned",
                grace_seconds=grace,
                hint="Raise serve.shutdown_grace_seconds (and terminationGracePeriodSeconds) to let runs finish.",
            )
        return clean

    def serve_forever(self, *, install_signals: bool = True) -> bool:
        """Start, wait for SIGTERM/SIGINT (or `request_stop`), shut down; True when nothing was abandoned."""
        previous: dict[signal.Signals, Any] = {}
        if install_signals:
            for signum in (signal.SIGTERM, signal.SIGINT):
                previous[signum] = signal.signal(signum, self._on_signal)
        try:
            self.start()
            self.wait_for_stop()
            log.info("serve.stopping", reason=self._signals[0] if self._signals else "requested")
            return self.shutdown()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def trigger_now(self) -> None:
        """Make the audit job due now (it is still skipped if a run is going on)."""
        if self._scheduler is None:
            raise RuntimeError("the service is not started")
        self._scheduler.modify_job(AUDIT_JOB, next_run_time=datetime.now(self.tz))

    # --- runs --------------------------------------------------------------------------------

    def execute(self) -> tuple[RunSummary, BaseException | None]:
        """One run through the seam, logged and counted; never raises what the run raised."""
        with run_context() as run_id:
            started = datetime.now(UTC)
            t0 = time.monotonic()
            with self._idle:
                self._active += 1
            self.metrics.run_started(run_id, started)
            log.info("run.started")
            error: BaseException | None = None
            try:
                try:
                    summary = self._run_once()
                except MlgovError as exc:
                    error = exc
                    log.error("run.failed", error_class=type(exc).__name__, error=exc.message, hint=exc.hint)
                    summary = RunSummary("error", time.monotonic() - t0, error=type(exc).__name__)
                except Exception as exc:  # one failed run must never end the service
                    error = exc
                    log.error("run.failed", error_class=type(exc).__name__, error=str(exc), exc_info=True)
                    summary = RunSummary("error", time.monotonic() - t0, error=type(exc).__name__)
                finished = datetime.now(UTC)
                self.metrics.run_finished(run_id, started, finished, summary)
                log.log(
                    _level_for(summary),
                    "run.finished",
                    status=summary.status,
                    duration_seconds=round(summary.duration_seconds, 3),
                    findings=dict(summary.findings_by_severity),
                    api_calls=sum(summary.api_calls.values()),
                    delivery_failures=summary.delivery_failures,
                    **({"error_class": summary.error} if summary.error else {}),
                )
                self._beat()
            finally:
                with self._idle:
                    self._active -= 1
                    self._idle.notify_all()
        return summary, error

    def _job(self) -> None:
        if self._stopping:
            return
        self.execute()

    def _tick(self) -> None:
        self._last_tick = time.monotonic()
        self._beat()

    def _beat(self) -> None:
        if self.heartbeat_path is None:
            return
        try:
            self.heartbeat_path.parent.mkdir(parents=True, exist_ok=True)
            self.heartbeat_path.touch()
            os.utime(self.heartbeat_path)
        except OSError as exc:
            if not self._heartbeat_warned:
                log.warning("serve.heartbeat_failed", path=str(self.heartbeat_path), error=exc.strerror)
                self._heartbeat_warned = True

    def _on_event(self, event: Any) -> None:
        from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED

        if getattr(event, "job_id", None) != AUDIT_JOB:
            return
        due = _iso(getattr(event, "scheduled_run_time", None))
        if event.code == EVENT_JOB_MAX_INSTANCES:
            self.metrics.run_skipped()
            log.warning("run.skipped", reason="the previous run is still going on", due=due)
        elif event.code == EVENT_JOB_MISSED:
            self.metrics.run_missed()
            log.warning("run.missed", reason="later than serve.misfire_grace_seconds", due=due)
        else:  # EVENT_JOB_ERROR: execute() catches everything, so this is a bug in the service
            log.error("serve.job_error", error_class=type(event.exception).__name__, error=str(event.exception))

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.request_stop(signal.Signals(signum).name)

    # --- probes ------------------------------------------------------------------------------

    @property
    def http_address(self) -> tuple[str, int] | None:
        """Where the probe server listens, once started."""
        return self._http.address if self._http else None

    def healthy(self) -> tuple[bool, dict[str, Any]]:
        """Liveness: the scheduler runs and has ticked recently."""
        running = bool(self._scheduler is not None and self._scheduler.running)
        age = time.monotonic() - self._last_tick
        stale = age > 5 * self.serve.heartbeat_interval_seconds
        ok = running and not stale
        return ok, {
            "status": "ok" if ok else "unhealthy",
            "scheduler": "running" if running else "stopped",
            "seconds_since_tick": round(age, 1),
        }

    def ready(self) -> tuple[bool, dict[str, Any]]:
        """Readiness: started and not shutting down; reports the last and next run."""
        ok = self._started and not self._stopping
        job = self._scheduler.get_job(AUDIT_JOB) if self._scheduler is not None and ok else None
        body = self.metrics.status()
        body["status"] = "ready" if ok else ("stopping" if self._stopping else "starting")
        body["next_run"] = _iso(job.next_run_time if job else None)
        return ok, body


def _level_for(summary: RunSummary) -> int:
    if summary.status == "error":
        return logging.ERROR
    if summary.status == "partial" or summary.delivery_failures:
        return logging.WARNING
    return logging.INFO


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


__all__ = ["AUDIT_JOB", "RunOnce", "Service"]
