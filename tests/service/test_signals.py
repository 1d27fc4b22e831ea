"""Tests of `mlgov serve` in a real process: SIGTERM and SIGINT stop it cleanly with exit status 0."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).with_name("serve_script.py")
WAIT = 30.0


class ServeProcess:
    """The script in a subprocess, its stderr JSON events read line by line in a thread."""

    def __init__(self, tmp_path: Path, *, grace: int, run_at_start: bool) -> None:
        self.release = tmp_path / "release"
        self.proc = subprocess.Popen(
            [sys.executable, str(SCRIPT), str(self.release), str(grace), "1" if run_at_start else "0"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.events: list[dict[str, Any]] = []
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            try:
                self._queue.put(json.loads(line))
            except json.JSONDecodeError:
                self._queue.put({"event": "non-json", "line": line})
        self._queue.put(None)

    def wait_for(self, name: str) -> dict[str, Any]:
        """Block until the process logs event `name` (fail after WAIT seconds or at its end)."""
        for seen in self.events:
            if seen.get("event") == name:
                return seen
        while True:
            item = self._queue.get(timeout=WAIT)
            if item is None:
                raise AssertionError(f"process ended before logging {name}: {self.names()}")
            self.events.append(item)
            if item.get("event") == name:
                return item

    def finish(self) -> int:
        code = self.proc.wait(timeout=WAIT)
        while True:
            item = self._queue.get(timeout=WAIT)
            if item is None:
                return code
            self.events.append(item)

    def names(self) -> list[str]:
        return [str(e.get("event")) for e in self.events]


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Any]:
    procs: list[ServeProcess] = []

    def start(**kwargs: Any) -> ServeProcess:
        proc = ServeProcess(tmp_path, **kwargs)
        procs.append(proc)
        return proc

    yield start
    for p in procs:
        if p.proc.poll() is None:
            p.proc.kill()
            p.proc.wait(timeout=WAIT)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_a_run_lets_it_finish_then_exits_0(spawn: Any, signum: signal.Signals) -> None:
    """A signal during a run stops scheduling, the run completes and is logged, and the process exits 0."""
    serve = spawn(grace=60, run_at_start=True)
    serve.wait_for("fake.run_waiting")
    serve.proc.send_signal(signum)
    stopping = serve.wait_for("serve.stopping")
    assert stopping["reason"] == signum.name
    serve.wait_for("serve.waiting_for_run")
    serve.release.touch()
    assert serve.finish() == 0
    names = serve.names()
    assert names.index("serve.stopping") < names.index("fake.run_done") < names.index("run.finished")
    assert names.index("run.finished") < names.index("serve.stopped")
    finished = next(e for e in serve.events if e["event"] == "run.finished")
    assert finished["status"] == "success" and finished["run_id"]


def test_sigterm_when_idle_exits_0_at_once(spawn: Any) -> None:
    """SIGTERM with no run going on stops the service straight away with status 0."""
    serve = spawn(grace=60, run_at_start=False)
    serve.wait_for("serve.started")
    serve.proc.send_signal(signal.SIGTERM)
    assert serve.finish() == 0
    assert "serve.stopped" in serve.names() and "run.started" not in serve.names()


def test_a_run_longer_than_the_grace_period_is_abandoned_with_status_0(spawn: Any) -> None:
    """When the run outlasts the grace period the process still exits 0, saying it left the run behind."""
    serve = spawn(grace=0, run_at_start=True)
    serve.wait_for("fake.run_waiting")
    serve.proc.send_signal(signal.SIGTERM)
    assert serve.finish() == 0
    assert "serve.run_abandoned" in serve.names() and "fake.run_done" not in serve.names()
