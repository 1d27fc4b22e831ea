"""The production run of `mlgov serve`: `mlgov.runner.execute` adapted to a `RunSummary`.

The runner is imported when a run starts, not when the service module is imported, so the
service starts fast and tests can drive it with fakes.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from mlgov.service.metrics import RunSummary

if TYPE_CHECKING:
    from mlgov.config import Config
    from mlgov.runner import RunOutcome
    from mlgov.service.scheduler import RunOnce


def summarize(outcome: RunOutcome) -> RunSummary:
    """What the service counts of a finished run: status, duration, open findings, calls, failures."""
    result = outcome.result
    open_findings = Counter(
        f.severity.value for f in outcome.report.findings if f.status.value != "waived"
    )
    return RunSummary(
        status=result.status,
        duration_seconds=float(result.duration_seconds),
        findings_by_severity=dict(open_findings),
        api_calls=dict(result.api_calls),
        delivery_failures=int(outcome.delivery_failures),
    )


def audit_run_once(config: Config | None, *, demo: bool = False, notify: bool | None = None) -> RunOnce:
    """A `run_once()` that audits with `config` (or the demo tenant) and notifies as configured."""

    def run_once() -> RunSummary:
        from mlgov.audit import AuditOptions
        from mlgov.runner import execute

        send = notify if notify is not None else bool(config and config.serve.notify)
        return summarize(execute(config, AuditOptions(), notify=send, demo=demo))

    return run_once


__all__ = ["audit_run_once", "summarize"]
