"""What the service knows about its runs, and its Prometheus text exposition.

`RunSummary` is what one audit run hands back to the service (the seam tests fake);
`ServiceMetrics` accumulates them under a lock and renders `/metrics` in the Prometheus text
format (version 0.0.4) without a client library.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

RunStatus = Literal["success", "partial", "error"]
RUN_STATUSES: tuple[RunStatus, ...] = ("success", "partial", "error")
RUN_COUNT_STATUSES = (*RUN_STATUSES, "skipped", "missed")
"""`skipped`: a run was due while the previous one still ran; `missed`: due past the grace time."""
SEVERITIES = ("critical", "high", "medium", "low", "info", "error")
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True, slots=True)
class RunSummary:
    """The outcome of one audit run, as the service counts it."""

    status: RunStatus
    duration_seconds: float
    findings_by_severity: Mapping[str, int] = field(default_factory=dict)
    """Open (not waived) findings per severity."""
    api_calls: Mapping[str, int] = field(default_factory=dict)
    """Requests made per API family (arm, databricks, mlflow_search...)."""
    delivery_failures: int = 0
    error: str | None = None
    """The exception class when the run raised instead of returning."""


@dataclass(frozen=True, slots=True)
class LastRun:
    """The most recent finished run."""

    run_id: str
    started_at: datetime
    finished_at: datetime
    summary: RunSummary

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view for `/readyz`."""
        s = self.summary
        return {
            "run_id": self.run_id,
            "status": s.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "duration_seconds": round(s.duration_seconds, 3),
            "findings": dict(s.findings_by_severity),
            "delivery_failures": s.delivery_failures,
            "error": s.error,
        }


class ServiceMetrics:
    """Counters and gauges of the service; every method is thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.runs_total: dict[str, int] = dict.fromkeys(RUN_COUNT_STATUSES, 0)
        self.api_calls_total: dict[str, int] = {}
        self.delivery_failures_total = 0
        self.findings: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
        self.last_run: LastRun | None = None
        self.last_success_at: datetime | None = None
        self.current_run: tuple[str, datetime] | None = None

    def run_started(self, run_id: str, at: datetime) -> None:
        """A run began."""
        with self._lock:
            self.current_run = (run_id, at)

    def run_finished(self, run_id: str, started_at: datetime, finished_at: datetime, summary: RunSummary) -> None:
        """A run ended (whatever its status): update every counter and gauge."""
        with self._lock:
            self.current_run = None
            self.runs_total[summary.status] += 1
            for family, calls in summary.api_calls.items():
                self.api_calls_total[family] = self.api_calls_total.get(family, 0) + int(calls)
            self.delivery_failures_total += int(summary.delivery_failures)
            if summary.error is None:
                self.findings = dict.fromkeys(SEVERITIES, 0)
                for severity, count in summary.findings_by_severity.items():
                    self.findings[severity] = int(count)
            if summary.status == "success":
                self.last_success_at = finished_at
            self.last_run = LastRun(run_id, started_at, finished_at, summary)

    def run_skipped(self) -> None:
        """A due run was not started because the previous one still ran."""
        with self._lock:
            self.runs_total["skipped"] += 1

    def run_missed(self) -> None:
        """A due run was dropped because it was later than the misfire grace time."""
        with self._lock:
            self.runs_total["missed"] += 1

    def status(self) -> dict[str, Any]:
        """JSON-ready view of the last and current run and the run counts."""
        with self._lock:
            current = self.current_run
            return {
                "last_run": self.last_run.as_dict() if self.last_run else None,
                "last_success_at": self.last_success_at.isoformat() if self.last_success_at else None,
                "running": {"run_id": current[0], "started_at": current[1].isoformat()} if current else None,
                "runs_total": dict(self.runs_total),
            }

    def render(self) -> str:
        """The Prometheus text exposition of every metric."""
        with self._lock:
            last = self.last_run
            lines: list[str] = []
            _family(lines, "mlgov_last_run_status", "gauge",
                    "1 for the status of the last finished run, 0 for the others.",
                    [({"status": s}, 1 if last and last.summary.status == s else 0) for s in RUN_STATUSES])
            _family(lines, "mlgov_last_run_timestamp_seconds", "gauge",
                    "When the last run finished (Unix time); 0 before the first run.",
                    [({}, last.finished_at.timestamp() if last else 0)])
            _family(lines, "mlgov_last_run_duration_seconds", "gauge",
                    "How long the last run took.",
                    [({}, last.summary.duration_seconds if last else 0)])
            _family(lines, "mlgov_last_success_timestamp_seconds", "gauge",
                    "When the last successful run finished (Unix time); alert when it grows old.",
                    [({}, self.last_success_at.timestamp() if self.last_success_at else 0)])
            _family(lines, "mlgov_run_in_progress", "gauge",
                    "1 while a run is going on.", [({}, 1 if self.current_run else 0)])
            _family(lines, "mlgov_findings", "gauge",
                    "Open findings of the last run that produced a report, per severity.",
                    [({"severity": s}, n) for s, n in self.findings.items()])
            _family(lines, "mlgov_api_calls_total", "counter",
                    "Requests made to cloud APIs since the service started, per API family.",
                    [({"family": f}, n) for f, n in sorted(self.api_calls_total.items())])
            _family(lines, "mlgov_delivery_failures_total", "counter",
                    "Notifications that could not be delivered since the service started.",
                    [({}, self.delivery_failures_total)])
            _family(lines, "mlgov_runs_total", "counter",
                    "Runs since the service started, per status (skipped: overlapped; missed: too late).",
                    [({"status": s}, n) for s, n in self.runs_total.items()])
        return "\n".join(lines) + "\n"


def _family(
    lines: list[str], name: str, kind: str, help_text: str, samples: list[tuple[dict[str, str], float]]
) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} {kind}")
    for labels, value in samples:
        label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
        lines.append(f"{name}{{{label_text}}} {_number(value)}" if label_text else f"{name} {_number(value)}")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


__all__ = ["RUN_STATUSES", "LastRun", "RunStatus", "RunSummary", "ServiceMetrics"]
