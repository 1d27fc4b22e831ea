"""`mlgov serve`: the audit on a cron schedule, with probes, Prometheus metrics and a heartbeat.

Modules: `cron` (crontab reading, APScheduler triggers), `metrics` (run summaries and the
Prometheus exposition), `http` (the probe server), `scheduler` (the `Service`), `audit_run`
(the production run: `mlgov.runner.execute` adapted to a `RunSummary`).
"""
