"""A per-scope progress display for terminals (rich), fed by collector progress events."""

from __future__ import annotations

import threading

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn


class TerminalProgress:
    """Shows one line per scope being read, with the API families done and objects counted.

    It writes to standard error only; the CLI installs it only when that is a terminal and
    the report format is the table.
    """

    def __init__(self, console: Console | None = None) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(bar_width=None),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            transient=True,
        )
        self._tasks: dict[str, TaskID] = {}
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._progress.start()

    def scope_started(self, scope_id: str, label: str) -> None:
        """Add a line for the scope."""
        with self._lock:
            self._tasks[scope_id] = self._progress.add_task(label, total=None, detail="starting")
            self._counts[scope_id] = 0

    def family_done(self, scope_id: str, family: str, count: int, ok: bool) -> None:
        """Update the scope's line with the family just read."""
        with self._lock:
            task = self._tasks.get(scope_id)
            if task is None:
                return
            self._counts[scope_id] += count
            state = "" if ok else " (failed)"
            self._progress.update(
                task, detail=f"{family}{state} - {self._counts[scope_id]} objects", advance=1
            )

    def scope_finished(self, scope_id: str, ok: bool) -> None:
        """Remove the scope's line."""
        with self._lock:
            task = self._tasks.pop(scope_id, None)
            if task is not None:
                self._progress.remove_task(task)

    def close(self) -> None:
        """Stop the display and clear it."""
        self._progress.stop()
