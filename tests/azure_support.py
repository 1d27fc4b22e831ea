"""Shared helpers of the Azure collector tests: config, context, a transport that never sleeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from azure.core.pipeline.transport import RequestsTransport

from mlgov.config import Config, parse_config
from mlgov.context import AuditContext
from mlgov.replay import StaticTokenCredential

ROOT = Path(__file__).resolve().parents[1]
CASSETTES = ROOT / "cassettes" / "azure"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
"""The moment cassettes are expanded at, so relative times become exact dates."""

SUB_A = "11111111-2222-3333-4444-555555555555"
SUB_B = "22222222-3333-4444-5555-666666666666"
SUB_C = "33333333-4444-5555-6666-777777777777"
SUB_D = "44444444-5555-6666-7777-888888888888"
SUB_X = "55555555-6666-7777-8888-999999999999"
RG = "rg-ml"


def aml_id(sub: str, rg: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{name}"


def registry_id(sub: str, rg: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerRegistry/registries/{name}"


def dbx_id(sub: str, rg: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Databricks/workspaces/{name}"


class NoSleepTransport(RequestsTransport):  # type: ignore[misc]
    """azure-core's requests transport, except that retry waits are recorded, not slept."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sleeps: list[float] = []

    def sleep(self, duration: float) -> None:
        self.sleeps.append(duration)


def make_config(azure: dict[str, Any] | None = None, **sections: Any) -> Config:
    """A config with an `azure:` section (every subscription visible unless given), unpaced."""
    raw: dict[str, Any] = {"version": 1, "azure": azure if azure is not None else {}}
    # Replayed traffic needs no pacing (the pacer has its own test with a fake clock).
    raw["collection"] = {"rate_limits": {"arm_per_second": 1000}}
    raw.update(sections)
    return parse_config(raw)


def make_context(
    config: Config,
    *,
    credential: Any = None,
    transport: NoSleepTransport | None = None,
    **client_kwargs: Any,
) -> AuditContext:
    """A context with a static credential and retries that never wait."""
    kwargs: dict[str, Any] = {"retry_backoff_factor": 0, "transport": transport or NoSleepTransport()}
    kwargs.update(client_kwargs)
    return AuditContext(config, azure_credential=credential or StaticTokenCredential(), azure_client_kwargs=kwargs)


@dataclass
class RecordingListener:
    """Keeps every progress event."""

    events: list[tuple[Any, ...]] = field(default_factory=list)

    def scope_started(self, scope_id: str, label: str) -> None:
        self.events.append(("started", scope_id, label))

    def family_done(self, scope_id: str, family: str, count: int, ok: bool) -> None:
        self.events.append(("family", scope_id, family, count, ok))

    def scope_finished(self, scope_id: str, ok: bool) -> None:
        self.events.append(("finished", scope_id, ok))


def played(cassette: Any) -> list[Any]:
    """The recorded requests that were actually replayed (in cassette order)."""
    return [cassette.data[i][0] for i in sorted(cassette.play_counts)]
