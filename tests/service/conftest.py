"""Fixtures for service tests: captured JSON logs and a service that is always shut down."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from mlgov.config import ServeConfig
from mlgov.logs import configure_logging
from mlgov.service.scheduler import RunOnce, Service


class LogCapture:
    """JSON log lines written while a test runs."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line.strip()]

    def named(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.events() if e.get("event") == event]


@pytest.fixture(autouse=True)
def logs() -> Iterator[LogCapture]:
    """Every service test logs to a captured stream (never to structlog's default stdout printer)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    capture = LogCapture()
    configure_logging("info", "json", stream=capture.stream)
    yield capture
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(False)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


@pytest.fixture
def make_service(tmp_path: Path, logs: LogCapture) -> Iterator[Callable[..., Service]]:
    """Services made by a test are shut down before its log capture ends."""
    made: list[Service] = []

    def make(run_once: RunOnce, *, trigger: Any = None, http: bool = True, **serve: Any) -> Service:
        settings: dict[str, Any] = {
            "cron": "0 0 1 1 *",  # far away unless a test gives a trigger
            "host": "127.0.0.1",
            "port": 0,
            "heartbeat_file": str(tmp_path / "run" / "heartbeat"),
            **serve,
        }
        service = Service(run_once, ServeConfig(**settings), trigger=trigger, http=http)
        made.append(service)
        return service

    yield make
    for service in made:
        if service._scheduler is not None and not service._stopping:
            service._force.set()
            service.shutdown()
