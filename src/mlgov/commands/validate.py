"""`mlgov validate`: check the config, the policy files, the prices and the waivers, and audit nothing."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add the `validate` sub-command."""
    p = subparsers.add_parser(
        "validate",
        help="check config, policies, prices and waivers without auditing",
        description="Load and check every file mlgov would read, without contacting any endpoint. "
        "Errors name the file, the field and what to do.",
    )
    p.add_argument("--config", "-c", type=Path, metavar="FILE", help="configuration file to check")
    p.add_argument("--policies", type=Path, metavar="DIR",
                   help="policy directory to check (default: the config's, else the shipped one)")
    p.add_argument("--waivers", type=Path, metavar="FILE", help="waivers file (default: waivers.file of the config)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Carry out `mlgov validate`."""
    from mlgov.audit import policy_settings, price_book
    from mlgov.catalogue import load_catalogue
    from mlgov.config import load_config
    from mlgov.engine import validate_settings

    config = load_config(args.config) if args.config else None
    directory = args.policies or (Path(config.policies.directory) if config and config.policies.directory else None)
    catalogue = load_catalogue(directory)
    print(f"policies: {len(catalogue)} policy files valid ({', '.join(catalogue)})")
    if config is not None:
        validate_settings(catalogue, policy_settings(config))
        targets = len(config.databricks.workspaces)
        azure = "ARM discovery" if config.azure else "no ARM discovery"
        print(f"config: {args.config} valid ({targets} explicit Databricks workspace(s), {azure}, "
              f"{len(config.notifications.destinations)} notification destination(s))")
        if config.notifications.destinations:
            from mlgov.delivery import validate_destinations

            for warning in validate_destinations(config.notifications.destinations):
                print(f"warning: {warning}")
    prices = price_book(config)
    print(f"prices: {prices.path} ({prices.currency}, region {prices.region})")
    waivers_path = args.waivers or (Path(config.waivers.file) if config and config.waivers.file else None)
    if waivers_path is not None:
        from mlgov.waivers import load_waivers

        max_days = config.waivers.max_days if config else 180
        waivers = load_waivers(waivers_path, catalogue=catalogue, max_days=max_days)
        print(f"waivers: {waivers_path} valid ({len(waivers)} waiver(s))")
    print("ok")
    return 0
