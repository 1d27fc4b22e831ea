"""The fastest any audit of a benchmark tenant can be, given latency and mlgov's configured rate limits.

    .venv/bin/python scripts/benchmark_bound.py --preset full --latency-ms 50

mlgov paces its requests per rate-limit bucket: per Databricks workspace for the REST APIs
(`collection.rate_limits.databricks_per_second`) and for MLflow search
(`mlflow_search_per_second`), per subscription for ARM (`arm_per_second`). Buckets are
independent, so no client that keeps to those rates can finish before its busiest bucket has
sent the requests the data needs (the minimum pages of `benchmarks/tenant.py`, one call per page
of the largest size each API allows) at that bucket's rate, plus one round trip for the last
answer. That is the bound BENCHMARKS.md compares mlgov's wall time with; CPU time is not in it.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.tenant import PRESETS, Tenant, pages  # noqa: E402

from mlgov.config import RateLimits  # noqa: E402


def buckets(tenant: Tenant, *, window_days: int = 30, horizon_days: int = 90) -> dict[str, tuple[int, str]]:
    """Requests the data needs, per rate-limit bucket: {bucket: (requests, rate kind)}."""
    ps = tenant.pages
    out: dict[str, tuple[int, str]] = {}
    for d in tenant.dbx:
        rest = (
            pages(d.n_clusters, ps.dbx_clusters_max)
            + pages(d.n_jobs, ps.dbx_jobs_max)
            + len(d.big_jobs) * pages(tenant.preset.big_job_tasks, ps.dbx_job_tasks)
            + min(tenant.runs_pages(d, window_days=window_days))
            + pages(d.n_repos, ps.dbx_repos)
            + 1  # token management: one page
        )
        search = pages(tenant.active_experiments(d), ps.mlflow_experiments_max) + math.ceil(
            tenant.experiments_needing_runs(d, horizon_days=horizon_days) / ps.mlflow_run_search_experiment_ids
        )
        out[f"databricks {d.name}"] = (rest, "databricks")
        out[f"mlflow_search {d.name}"] = (search, "mlflow_search")
    arm: Counter[str] = Counter()
    arm["tenant"] += pages(len(tenant.subscriptions), ps.arm)
    for s in tenant.subscriptions:
        sub = s.subscription_id
        arm[sub] += pages(sum(1 for w in tenant.aml if w.sub == sub), ps.arm)
        arm[sub] += pages(sum(1 for w in tenant.dbx if w.sub == sub), ps.arm)
    for w in tenant.aml:
        arm[w.sub] += pages(w.n_computes, ps.arm) + pages(w.n_jobs, ps.arm)
    for key in {w.registry_id.lower() for w in tenant.aml if w.registry_id}:
        reg = tenant.registries[key]
        arm[reg.sub] += 2 if reg.exists else 1
    roles: dict[str, str] = {}
    for scope in tenant.audited_arm_scopes():
        found = tenant.assignments_for_scope(scope)
        sub = scope.split("/")[2]
        arm[sub] += pages(len(found), ps.arm)
        for ra in found:
            roles.setdefault(ra.role_guid.lower(), sub)
    for sub in roles.values():
        arm[sub] += 1
    for sub, n in arm.items():
        out[f"arm {sub}"] = (n, "arm")
    return out


def main(argv: list[str] | None = None) -> int:
    """Print the buckets, busiest first, and the bound."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--preset", choices=sorted(PRESETS), default="full")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--latency-ms", type=float, default=50.0)
    args = p.parse_args(argv)
    rates = RateLimits()
    per_second = {
        "databricks": rates.databricks_per_second,
        "mlflow_search": rates.mlflow_search_per_second,
        "arm": rates.arm_per_second,
    }
    tenant = Tenant(args.preset, seed=args.seed, now_ms=int(time.time()) // 60 * 60_000)
    rows = sorted(
        ((n / per_second[kind], name, n, kind) for name, (n, kind) in buckets(tenant).items()), reverse=True
    )
    print("| bucket | requests | rate (/s) | seconds |\n|---|---:|---:|---:|")
    for seconds, name, n, kind in rows[:8]:
        print(f"| {name} | {n} | {per_second[kind]:g} | {seconds:.1f} |")
    bound = rows[0][0] + args.latency_ms / 1000
    print(f"\nbound: {rows[0][0]:.1f} s ({rows[0][1]}) + {args.latency_ms:g} ms = {bound:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
