"""`mlgov notify test DESTINATION`: post a clearly labelled test message to one destination."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add `notify` with its `test` sub-command."""
    parser = subparsers.add_parser(
        "notify",
        help="notification tools (send a test message)",
        description="Notification tools. `notify test NAME` posts a test message to one destination of the "
        "config and reports the HTTP outcome. The destination URL is never printed.",
    )
    sub = parser.add_subparsers(dest="notify_command", metavar="ACTION")
    test = sub.add_parser("test", help="post a test message to one configured destination")
    test.add_argument("destination", metavar="DESTINATION", help="a name under notifications.destinations")
    test.add_argument("--config", "-c", type=Path, metavar="FILE", required=True, help="configuration file")
    test.set_defaults(handler=run_test)
    parser.set_defaults(handler=lambda args: (parser.print_help(), 2)[1])


def run_test(args: argparse.Namespace) -> int:
    """Send the test message; exit 0 when the destination accepted it, 1 otherwise."""
    from mlgov.config import load_config
    from mlgov.delivery.send import send_test
    from mlgov.delivery.urls import host_of

    config = load_config(args.config)
    outcome = send_test(config, args.destination)
    destination = next(d for d in config.notifications.destinations if d.name == args.destination)
    for warning in destination.warnings():
        print(f"warning: {warning}")
    where = f"{destination.name} ({destination.type}, host {host_of(destination.url.get_secret_value())})"
    if outcome.ok:
        print(f"test message delivered to {where}: HTTP {outcome.status} after {outcome.attempts} attempt(s)")
        if destination.type == "teams":
            print(
                "note: Teams Workflows answer 202 as soon as the flow is queued; if no card appears in the "
                "channel, open the flow's run history in Power Automate to see why."
            )
        return 0
    status = f"HTTP {outcome.status}" if outcome.status else "no HTTP answer"
    print(f"test message NOT delivered to {where}: {status} after {outcome.attempts} attempt(s): {outcome.error}")
    print(f"hint: {_hint(outcome.status, destination.type)}")
    return 1


def _hint(status: int | None, kind: str) -> str:
    if status in (401, 403):
        if kind == "teams":
            return ("the flow refused the request: its URL may be outdated (copy it again from the trigger) or the "
                    "flow may be restricted to users of your tenant.")
        return "the receiver refused the request: check its authentication and the signing secret."
    if status == 404:
        return "nothing at that URL: the flow or endpoint was deleted or the URL is incomplete."
    if status in (400, 413, 422):
        return "the receiver rejected the body; for Teams, check the flow is built from the webhook template."
    if status == 429 or (status or 0) >= 500:
        return "the receiver is throttling or failing; try again later."
    return "check the URL, the network path to the receiver, and proxies."
