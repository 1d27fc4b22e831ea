"""Sub-commands of the `mlgov` CLI, one module each, each with a `register(subparsers)`."""
