"""Run one audit the way the CLI and the service do: collect, evaluate, record, notify, report.

`execute` glues `mlgov.audit.run_audit` (collection and policies) to `mlgov.lifecycle`
(state store, waivers, notifications) and returns everything a report needs. `--demo` runs
go through here too: the bundled sample tenant is replayed from recorded traffic through the
real SDK clients, with a fake credential and no network.
"""

from __future__ import annotations

import copy
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from mlgov.audit import AuditOptions, AuditResult, run_audit
from mlgov.config import Config, parse_config
from mlgov.context import AuditContext
from mlgov.errors import ConfigError
from mlgov.progress import ProgressListener
from mlgov.report import Report

DEMO_TOKEN_ENV = "MLGOV_DEMO_TOKEN"  # noqa: S105 - the name of a variable, not a secret
DEMO_CASSETTES = ("azure.yaml", "databricks.yaml")
# Sections of a user's config that apply on top of the demo tenant (`--demo --config FILE`).
DEMO_OVERLAY_SECTIONS = ("state", "waivers", "notifications", "policies", "prices", "logging", "serve")


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """A finished run: the audit result, the report to render, and delivery problems."""

    result: AuditResult
    report: Report
    delivery_failures: int
    deliveries_sent: int
    run_id: str
    state_path: Path | None


def demo_dir() -> Path:
    """Where the sample tenant's cassettes and config live."""
    return Path(str(resources.files("mlgov") / "demo"))


def demo_config(overlay: Path | None = None) -> Config:
    """The sample tenant's config, with a user's state/notification/waiver sections on top."""
    base = demo_dir()
    raw: dict[str, Any] = yaml.safe_load((base / "config.yaml").read_text(encoding="utf-8"))
    azure_fragment = base / "azure-config.yaml"
    if azure_fragment.is_file():
        raw.update(yaml.safe_load(azure_fragment.read_text(encoding="utf-8")) or {})
    if overlay is not None:
        try:
            user = yaml.safe_load(overlay.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{overlay}: cannot read config: {exc}") from exc
        if not isinstance(user, dict):
            raise ConfigError(f"{overlay}: the config must be a YAML mapping")
        for section in DEMO_OVERLAY_SECTIONS:
            if section in user:
                raw[section] = copy.deepcopy(user[section])
    if DEMO_TOKEN_ENV not in os.environ:
        from mlgov.replay import fake_pat

        os.environ[DEMO_TOKEN_ENV] = fake_pat("mlgov-demo")
    return parse_config(raw, source=f"demo config{f' + {overlay}' if overlay else ''}")


def execute(
    config: Config | None,
    options: AuditOptions,
    *,
    notify: bool = False,
    demo: bool = False,
    use_state: bool | None = None,
    state_path: Path | None = None,
    context: AuditContext | None = None,
    progress: ProgressListener | None = None,
    target_label: str | None = None,
) -> RunOutcome:
    """Audit, then record the run in the state store and send notifications when asked.

    The state store is used when `use_state` says so; by default it is used for real audits
    with a config, and for demo or snapshot runs only when notifying or given a state path.
    """
    if demo:
        if config is None:
            config = demo_config()
        from mlgov.replay import StaticTokenCredential, replaying

        ctx = context or AuditContext(config, azure_credential=StaticTokenCredential())
        files = [demo_dir() / name for name in DEMO_CASSETTES if (demo_dir() / name).is_file()]
        with replaying(*files):
            result = run_audit(config, options, context=ctx, progress=progress)
        target_label = target_label or "sample tenant (--demo, replayed)"
    else:
        result = run_audit(config, options, context=context, progress=progress)

    if use_state is None:
        use_state = bool(notify or state_path) or (
            not demo and config is not None and options.from_snapshot is None
        )
    now = datetime.now(UTC)
    if use_state and config is not None:
        from mlgov.lifecycle import record_run

        outcome = record_run(result, config, notify=notify, store_path=state_path)
        report = Report(
            result=result,
            findings=tuple(outcome.findings),
            generated_at=now,
            lifecycle=dict(outcome.lifecycle),
            resolved=tuple(outcome.resolved),
            expiring_waivers=tuple(outcome.expiring_waivers),
            target_label=target_label,
        )
        return RunOutcome(
            result=result,
            report=report,
            delivery_failures=outcome.delivery_failures,
            deliveries_sent=outcome.deliveries_sent,
            run_id=outcome.run_id,
            state_path=state_path or Path(config.state.path),
        )
    report = Report(
        result=result,
        findings=result.evaluation.findings,
        generated_at=now,
        target_label=target_label,
    )
    return RunOutcome(
        result=result,
        report=report,
        delivery_failures=0,
        deliveries_sent=0,
        run_id=uuid.uuid4().hex,
        state_path=None,
    )
