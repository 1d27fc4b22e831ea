"""Report renderers: one function per format, each turning a `Report` into text.

Renderers are registered by format name; the CLI picks one with `--format`. Every renderer
reads the same `Report`, so formats never disagree about what was found.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlgov.audit import AuditResult
    from mlgov.findings import Finding

Renderer = Callable[["Report"], str]
_RENDERERS: dict[str, tuple[str, str]] = {
    "table": ("mlgov.report.table", "render"),
    "json": ("mlgov.report.json_report", "render"),
    "sarif": ("mlgov.report.sarif", "render"),
    "csv": ("mlgov.report.csv_report", "render"),
    "markdown": ("mlgov.report.markdown", "render"),
    "html": ("mlgov.report.html", "render"),
}
FORMATS = tuple(_RENDERERS)


@dataclass(frozen=True, slots=True)
class Report:
    """What every format renders: the run, its findings (waivers applied) and their lifecycle."""

    result: AuditResult
    findings: tuple[Finding, ...]
    generated_at: datetime
    lifecycle: Mapping[str, str] = field(default_factory=dict)
    """Fingerprint -> `new`, `open`, `reopened` (from the state store), when one was used."""
    resolved: tuple[Finding, ...] = ()
    """Findings resolved by this run (from the state store), when one was used."""
    expiring_waivers: tuple[Mapping[str, str], ...] = ()
    target_label: str | None = None
    """A short description of what was audited, e.g. `demo tenant`."""


def renderer(fmt: str) -> Renderer:
    """The render function of a format."""
    module, attr = _RENDERERS[fmt]
    fn: Renderer = getattr(importlib.import_module(module), attr)
    return fn
