"""`mlgov audit`: collect, evaluate, report, and exit with a status scripts can act on."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

FAIL_ON = ("critical", "high", "medium", "low", "info", "none")

HELP = """\
Read the configured workspaces (or the bundled sample tenant with --demo), check them against
every enabled policy, and print what is wrong, why, what it costs and how to fix it.
The audit is read-only: it never changes a workspace and never prints a secret.
"""

EPILOG = """\
examples:
  mlgov audit --demo
  mlgov audit --config mlgov.yaml --format json --output report.json
  mlgov audit --config mlgov.yaml --target 'adb-*' --policy MLF-001 --policy MLF-002
  mlgov audit --config mlgov.yaml --save-snapshot snap.json   # then, offline:
  mlgov audit --from-snapshot snap.json --format html --output report.html
  mlgov audit --config mlgov.yaml --from-snapshot snap-1.json --from-snapshot snap-2.json --notify
  mlgov audit --config mlgov.yaml --fail-on high   # exit 1 if a high or worse finding is open

exit status: 0 clean, 1 findings at or above --fail-on, 2 usage or config error,
3 partial audit (some scope could not be read: see the AUD-001 findings).
"""


def register(subparsers: Any) -> None:
    """Add the `audit` sub-command."""
    from mlgov.report import FORMATS

    p = subparsers.add_parser(
        "audit",
        help="audit workspaces and report findings",
        description=HELP,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_argument_group("what to audit")
    src.add_argument("--config", "-c", type=Path, metavar="FILE", help="configuration file (YAML)")
    src.add_argument(
        "--demo",
        action="store_true",
        help="audit the bundled sample tenant, replayed from recorded API traffic (no credentials); "
        "with --config, the file's state, waivers, notifications and policies sections apply",
    )
    src.add_argument(
        "--from-snapshot",
        type=Path,
        action="append",
        metavar="FILE",
        help="evaluate a snapshot saved earlier instead of collecting (offline, no credentials); "
        "repeat it to evaluate the snapshots of every shard as one audit (docs/scale-out.md)",
    )
    src.add_argument("--target", "-t", action="append", default=[], metavar="PATTERN",
                     help="only targets whose name, host, ARM id or subscription match (glob; repeatable)")
    src.add_argument("--policy", "-p", action="append", default=None, metavar="ID",
                     help="only these policies (repeatable), e.g. --policy MLF-001")
    src.add_argument("--shard", metavar="I/N",
                     help="audit only shard I of N of the targets (stable split for parallel jobs)")
    out = p.add_argument_group("output")
    out.add_argument("--format", "-f", choices=FORMATS, default="table", help="report format (default: table)")
    out.add_argument("--output", "-o", type=Path, metavar="FILE", help="write the report to FILE (atomically)")
    out.add_argument("--save-snapshot", type=Path, metavar="FILE",
                     help="also save the collected inventory (no secrets) for offline re-evaluation")
    out.add_argument("--no-progress", action="store_true", help="no progress display on the terminal")
    out.add_argument("--verbose", "-v", action="count", default=0,
                     help="log collection events on stderr (-v: info, -vv: debug, SDK traffic included)")
    gate = p.add_argument_group("status and delivery")
    gate.add_argument("--fail-on", choices=FAIL_ON, default="none", metavar="SEVERITY",
                      help="exit 1 when an open finding is at or above SEVERITY "
                      f"({', '.join(FAIL_ON)}; default: none)")
    gate.add_argument("--notify", dest="notify", action="store_true", default=False,
                      help="post what changed to the configured destinations")
    gate.add_argument("--no-notify", dest="notify", action="store_false", help="do not post (default)")
    gate.add_argument("--state", type=Path, metavar="FILE", help="state store to use (overrides state.path)")
    gate.add_argument("--no-state", action="store_true",
                      help="do not record the run in the state store (no new/resolved tracking)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Carry out `mlgov audit`."""
    from mlgov.audit import AuditOptions
    from mlgov.errors import UsageError
    from mlgov.fileio import write_atomic
    from mlgov.findings import FindingStatus, Severity
    from mlgov.report import renderer
    from mlgov.runner import demo_config, execute
    from mlgov.targets import parse_shard

    if args.demo and args.from_snapshot:
        raise UsageError("--demo and --from-snapshot cannot be combined",
                         hint="--demo collects from the sample tenant; --from-snapshot skips collection.")
    if not (args.config or args.demo or args.from_snapshot):
        raise UsageError(
            "nothing to audit: give --config FILE, --from-snapshot FILE or --demo",
            hint="Try `mlgov audit --demo` to see mlgov on a sample tenant.",
        )
    if args.no_state and (args.notify or args.state):
        raise UsageError("--no-state cannot be combined with --notify or --state",
                         hint="Notifications need the state store to know what changed.")

    config = None
    if args.demo:
        config = demo_config(args.config)
    elif args.config:
        from mlgov.config import load_config

        config = load_config(args.config)
    if args.notify and (config is None or not config.notifications.destinations):
        raise UsageError("--notify: no notification destinations are configured",
                         hint="Add notifications.destinations to the config (see deploy/config.example.yaml).")

    from mlgov.logs import LogLevel, configure_logging

    # Logs go to stderr, never into the report; a one-off audit logs warnings unless asked for more.
    level: LogLevel = "debug" if args.verbose >= 2 else "info" if args.verbose == 1 else "warning"
    configure_logging(level, config.logging.format if config else "auto")

    options = AuditOptions(
        targets=tuple(args.target),
        policies=tuple(args.policy) if args.policy else None,
        shard=parse_shard(args.shard) if args.shard else None,
        from_snapshot=args.from_snapshot[0] if args.from_snapshot else None,
        more_snapshots=tuple(args.from_snapshot[1:]) if args.from_snapshot else (),
        save_snapshot=args.save_snapshot,
    )
    progress = None
    if args.format == "table" and not args.no_progress and sys.stderr.isatty():
        from mlgov.progress_display import TerminalProgress

        progress = TerminalProgress()
    try:
        outcome = execute(
            config,
            options,
            notify=args.notify,
            demo=args.demo,
            use_state=False if args.no_state else None,
            state_path=args.state,
            progress=progress,
        )
    finally:
        if progress is not None:
            progress.close()

    if args.format == "table" and not args.output and sys.stdout.isatty():
        import shutil

        from mlgov.report.table import render_for_terminal

        width = shutil.get_terminal_size((140, 40)).columns
        text = render_for_terminal(outcome.report, width=width, color=True)
    else:
        text = renderer(args.format)(outcome.report)
    if args.output:
        write_atomic(args.output, text)
        print(f"mlgov: report written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    if outcome.delivery_failures:
        print(f"mlgov: warning: {outcome.delivery_failures} notification(s) could not be delivered; "
              "they stay in the outbox and go out on the next run", file=sys.stderr)

    if outcome.result.status != "success":
        return 3
    if args.fail_on != "none":
        threshold = Severity.parse(args.fail_on)
        if any(
            f.status is not FindingStatus.WAIVED and f.severity.rank >= threshold.rank
            for f in outcome.report.findings
        ):
            return 1
    return 0
