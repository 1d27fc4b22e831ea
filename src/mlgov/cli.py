"""The `mlgov` command line.

Start-up stays light: this module imports only the standard library, and each command
imports what it needs when it runs. `mlgov --help` and `mlgov policies list` never import a
cloud SDK.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from mlgov import __version__

# Each module exposes `register(subparsers)`, which adds its sub-command and sets `handler`.
COMMAND_MODULES = (
    "mlgov.commands.audit",
    "mlgov.commands.validate",
    "mlgov.commands.policies",
    "mlgov.commands.findings",
    "mlgov.commands.notify",
    "mlgov.commands.serve",
)

DESCRIPTION = """\
Audit Azure Machine Learning and Azure Databricks workspaces against governance and FinOps
policies: expired MLflow tokens, secrets in cluster and job configuration, stale experiments,
container registries over their included storage, notebooks not linked to Git, jobs paying
all-purpose rates, idle compute, broad rights. Read-only; never prints a secret.
"""

EPILOG = """\
first steps:
  mlgov audit --demo                    audit the bundled sample tenant (no credentials)
  mlgov policies list                   the policies and their severities
  mlgov validate --config mlgov.yaml    check a config file without auditing
  mlgov audit --config mlgov.yaml --fail-on high --format json --output report.json

exit status: 0 clean, 1 findings at or above --fail-on, 2 usage or config error,
3 partial audit (some scope could not be read).
"""


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="mlgov",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"mlgov {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # a command not built yet
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    from mlgov.errors import MlgovError

    try:
        code: int = handler(args)
    except MlgovError as exc:
        print(f"mlgov: error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("mlgov: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
