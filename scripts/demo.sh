#!/usr/bin/env bash
# The README's demo command: install mlgov into .venv (if needed) and audit the bundled
# sample tenant, replayed from recorded API traffic through the real SDKs (no credentials).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/mlgov ]; then
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e .
fi
exec .venv/bin/mlgov audit --demo "$@"
