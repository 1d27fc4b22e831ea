#!/usr/bin/env bash
# The README's test command: install mlgov with its test tools into .venv (if needed) and run
# the whole suite in replay mode with the network blocked.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/pytest ]; then
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev]"
fi
exec .venv/bin/pytest "$@"
