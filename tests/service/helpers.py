"""Fakes for service tests: a controllable `run_once` and a wait-until helper (no timing assertions)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from mlgov.service.metrics import RunSummary

WAIT = 20.0
"""Upper bound for waiting on something the test expects; never an assertion about speed."""


def wait_until(condition: Callable[[], bool], timeout: float = WAIT) -> bool:
    """Poll `condition` until it is true or `timeout` passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


class FakeRun:
    """A `run_once` that counts calls, can block on a gate, and can raise on chosen calls."""

    def __init__(self, *, gated: bool = False, fail_on: tuple[int, ...] = (), status: str = "success") -> None:
        self.calls = 0
        self.finished = 0
        self.gate = threading.Event()
        if not gated:
            self.gate.set()
        self.started = threading.Event()
        self.fail_on = fail_on
        self.status = status
        self._lock = threading.Lock()

    def __call__(self) -> RunSummary:
        with self._lock:
            self.calls += 1
            call = self.calls
        self.started.set()
        if not self.gate.wait(WAIT):
            raise TimeoutError("the test never opened the gate")
        if call in self.fail_on:
            raise RuntimeError(f"collector crashed on call {call}")
        with self._lock:
            self.finished += 1
        return RunSummary(
            status=self.status,  # type: ignore[arg-type]
            duration_seconds=0.5,
            findings_by_severity={"high": 2, "low": 1},
            api_calls={"arm": 3, "databricks": 7},
            delivery_failures=1 if self.status == "partial" else 0,
        )
