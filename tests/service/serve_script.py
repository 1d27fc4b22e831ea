"""A `mlgov serve` process with a fake slow run, for the signal tests (run as a subprocess).

Usage: python serve_script.py RELEASE_FILE GRACE_SECONDS RUN_AT_START

The fake run logs `fake.run_waiting`, then waits until RELEASE_FILE exists (at most a minute),
so the test decides when the run ends instead of guessing how long it takes.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from mlgov.commands.serve import serve
from mlgov.config import ServeConfig
from mlgov.logs import configure_logging, get_logger
from mlgov.service.metrics import RunSummary


def main() -> int:
    release = Path(sys.argv[1])
    grace = int(sys.argv[2])
    run_at_start = sys.argv[3] == "1"
    log = get_logger("mlgov.tests.fake_run")

    def slow_run() -> RunSummary:
        log.info("fake.run_waiting")
        deadline = time.monotonic() + 60
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        log.info("fake.run_done")
        return RunSummary("success", 1.0, findings_by_severity={"medium": 1})

    configure_logging("info", "json")
    settings = ServeConfig(
        cron="0 0 1 1 *", run_at_start=run_at_start, host="127.0.0.1", port=0, shutdown_grace_seconds=grace
    )
    return serve(settings, slow_run)


if __name__ == "__main__":
    sys.exit(main())
