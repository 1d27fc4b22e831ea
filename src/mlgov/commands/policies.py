"""`mlgov policies list` and `mlgov policies show ID`."""

from __future__ import annotations

import argparse
import sys
import textwrap
from typing import Any


def register(subparsers: Any) -> None:
    """Add `policies` with its `list` and `show` sub-commands."""
    parser = subparsers.add_parser(
        "policies",
        help="list the policies or show one in full",
        description="The policy catalogue: what each policy flags, why, and how to fix it.",
    )
    sub = parser.add_subparsers(dest="policies_command", metavar="ACTION")
    lst = sub.add_parser("list", help="one line per policy: id, severity, title")
    lst.add_argument("--format", choices=("table", "json"), default="table")
    lst.set_defaults(handler=list_policies)
    show = sub.add_parser("show", help="a policy's rationale, parameters, remediation and cost model")
    show.add_argument("policy_id", metavar="ID", help="policy id, e.g. MLF-001")
    show.set_defaults(handler=show_policy)
    parser.set_defaults(handler=lambda args: (parser.print_help(), 2)[1])


def list_policies(args: argparse.Namespace) -> int:
    """Print the catalogue, one policy per line."""
    from mlgov.catalogue import load_catalogue

    catalogue = load_catalogue()
    if args.format == "json":
        import json

        rows = [
            {
                "id": p.id,
                "severity": p.spec.severity,
                "title": p.spec.title,
                "resource_kind": p.spec.resource_kind,
                "parameters": p.defaults(),
            }
            for p in catalogue.values()
        ]
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(p.spec.resource_kind) for p in catalogue.values())
    print(f"{'ID':<8} {'SEVERITY':<9} {'RESOURCE':<{width}} TITLE")
    for p in catalogue.values():
        print(f"{p.id:<8} {p.spec.severity:<9} {p.spec.resource_kind:<{width}} {p.spec.title}")
    print(f"\n{len(catalogue)} policies. `mlgov policies show ID` explains one.")
    return 0


def show_policy(args: argparse.Namespace) -> int:
    """Print one policy in full."""
    from mlgov.catalogue import load_catalogue
    from mlgov.errors import UsageError

    catalogue = load_catalogue()
    policy_id = args.policy_id.strip().upper()
    if policy_id not in catalogue:
        raise UsageError(
            f"no policy {args.policy_id!r}",
            hint="Run `mlgov policies list` to see the ids.",
        )
    spec = catalogue[policy_id].spec
    out = sys.stdout
    wrap = textwrap.TextWrapper(width=96, initial_indent="  ", subsequent_indent="  ")
    out.write(f"{spec.id}  {spec.title}\n")
    out.write(f"severity: {spec.severity}    resource: {spec.resource_kind}\n\n")
    out.write("Why it matters\n" + "\n".join(wrap.wrap(" ".join(spec.rationale.split()))) + "\n\n")
    if spec.parameters:
        out.write("Parameters (set under policies.parameters in the config)\n")
        for name, param in spec.parameters.items():
            out.write(f"  {name} = {param.default!r} ({param.type}): {param.description}\n")
        out.write("\n")
    rem = spec.remediation
    out.write("How to fix it\n" + "\n".join(wrap.wrap(rem.summary)) + "\n")
    for i, step in enumerate(rem.steps, 1):
        out.write(f"  {i}. {step}\n")
    if rem.cli:
        out.write("  cli:    " + rem.cli.strip().replace("\n", "\n          ") + "\n")
    if rem.portal:
        out.write("  portal: " + rem.portal.strip().replace("\n", "\n          ") + "\n")
    out.write(f"  docs:   {rem.doc_url}\n")
    if spec.cost_model:
        out.write("\nCost model\n" + "\n".join(wrap.wrap(spec.cost_model.description)) + "\n")
        out.write(f"  formula: {spec.cost_model.formula}\n")
    return 0
