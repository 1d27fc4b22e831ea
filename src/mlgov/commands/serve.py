"""`mlgov serve`: run the audit on the config's cron, with probes, metrics and a heartbeat."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlgov.config import Config, ServeConfig
    from mlgov.service.scheduler import RunOnce

HELP = """\
Run the audit on a schedule (serve.cron, read in serve.timezone; day-of-week numbers follow
crontab: 0 and 7 are Sunday), one run at a time, and answer /healthz, /readyz and /metrics
(Prometheus) on serve.port. SIGTERM or SIGINT stops scheduling, lets a run in progress finish
for up to serve.shutdown_grace_seconds, and exits 0.
"""

EPILOG = """\
examples:
  mlgov serve --config /etc/mlgov/config.yaml
  mlgov serve --demo --port 9464            # the sample tenant, first run at start
  mlgov serve --config mlgov.yaml --once    # one run with the service's logging, then exit

For a plain schedule prefer a Kubernetes CronJob or an Azure Container Apps Job running
`mlgov audit` (see docs/deploy.md); `serve` is for clusters where a long-running pod with
metrics suits better.

exit status: 0 after a clean stop; with --once: 0 success, 3 partial or failed run,
2 config error.
"""


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not in 0-65535")
    return value


def register(subparsers: Any) -> None:
    """Add the `serve` sub-command."""
    p = subparsers.add_parser(
        "serve",
        help="run the audit on a cron schedule with health and metrics endpoints",
        description=HELP,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", "-c", type=Path, metavar="FILE", help="configuration file (YAML)")
    p.add_argument(
        "--demo",
        action="store_true",
        help="audit the bundled sample tenant (replayed, no credentials), first run at start; "
        "with --config, the file's serve, logging, state and notifications sections apply",
    )
    p.add_argument("--once", action="store_true", help="run one audit now and exit (no scheduler, no HTTP)")
    p.add_argument("--port", type=_port, metavar="N", help="port of /healthz, /readyz, /metrics (0: any free one)")
    p.add_argument("--host", metavar="ADDR", help="address to listen on (default: serve.host)")
    p.add_argument("--log-format", choices=("auto", "json", "console"), help="override logging.format")
    p.add_argument("--log-level", choices=("debug", "info", "warning", "error"), help="override logging.level")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load the config, set up logging, and serve (or run once)."""
    from mlgov.logs import configure_logging
    from mlgov.service.audit_run import audit_run_once

    config = _load(args)
    serve_cfg = config.serve
    updates: dict[str, Any] = {}
    if args.port is not None:
        updates["port"] = args.port
    if args.host:
        updates["host"] = args.host
    if args.demo:
        updates["run_at_start"] = True
    if updates:
        serve_cfg = serve_cfg.model_copy(update=updates)
    configure_logging(args.log_level or config.logging.level, args.log_format or config.logging.format)
    return serve(serve_cfg, audit_run_once(config, demo=args.demo), once=args.once)


def serve(serve_cfg: ServeConfig, run_once: RunOnce, *, once: bool = False, http: bool = True) -> int:
    """Run the service until SIGTERM/SIGINT (or one run with `once`); returns the exit status."""
    from mlgov.errors import MlgovError
    from mlgov.service.scheduler import Service

    service = Service(run_once, serve_cfg, http=http and not once)
    if once:
        summary, error = service.execute()
        if isinstance(error, MlgovError):
            return error.exit_code
        return 0 if summary.status == "success" else 3
    if service.serve_forever():
        return 0
    # A run is still going on past the grace period: its worker thread would hold the
    # interpreter open, so leave now (the run's state store writes are transactional).
    logging.shutdown()
    os._exit(0)


def _load(args: argparse.Namespace) -> Config:
    from mlgov.config import load_config
    from mlgov.errors import UsageError

    if args.demo:
        from mlgov.runner import demo_config

        return demo_config(args.config)
    if args.config is None:
        raise UsageError(
            "mlgov serve needs --config FILE (or --demo)",
            hint="Start from deploy/config.example.yaml; `mlgov validate --config FILE` checks it.",
        )
    return load_config(args.config)
