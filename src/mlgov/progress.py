"""Progress reporting seam: collectors say what they start and finish; a display may listen.

The default listener does nothing. The CLI installs a terminal display only when standard
error is a terminal and the output format is not machine-readable.
"""

from __future__ import annotations

from typing import Protocol


class ProgressListener(Protocol):
    """Receives collection progress events; must be thread-safe."""

    def scope_started(self, scope_id: str, label: str) -> None:
        """A scope (workspace, subscription) started being read."""

    def family_done(self, scope_id: str, family: str, count: int, ok: bool) -> None:
        """One API family of a scope was read (`count` objects), or failed."""

    def scope_finished(self, scope_id: str, ok: bool) -> None:
        """A scope is done."""


class NullProgress:
    """Ignores every event."""

    def scope_started(self, scope_id: str, label: str) -> None:
        """Ignore."""

    def family_done(self, scope_id: str, family: str, count: int, ok: bool) -> None:
        """Ignore."""

    def scope_finished(self, scope_id: str, ok: bool) -> None:
        """Ignore."""
