"""Run the mlgov benchmark: `python -m benchmarks.run --preset full --latency-ms 50`.

1. start the emulator (child process) serving the synthetic tenant of `--preset`;
2. write an mlgov config pointing at it as a custom cloud, with the Databricks workspaces also
   named by host, and run `mlgov.audit.run_audit` on it in a worker process (the normal code
   path: real SDK clients, a static fake credential through `AuditContext(azure_credential=)`);
3. run the naive sequential baseline (`benchmarks/naive.py`) against the same emulator;
4. time `mlgov --help` start-up and policy evaluation over a 1M-object in-memory snapshot;
5. write `benchmarks/results/<preset>-<utc time>.json` and print a Markdown summary.

Each measured run gets its own process, so its peak RSS is its own; the emulator's counters
and rate-limit buckets are reset between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python benchmarks/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.emulator import EmulatorProcess, Limits, RateLimit
from benchmarks.tenant import PRESETS, Tenant

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


# --- config -----------------------------------------------------------------------------------


def write_config(path: Path, tenant: Tenant, arm_url: str, hosts: list[str], workdir: Path) -> Path:
    """An mlgov config for the emulator: custom cloud + Databricks workspaces named by host."""
    import yaml

    cfg = {
        "version": 1,
        "azure": {
            "cloud": "custom",
            "custom_cloud": {
                "name": "MlgovBench",
                "arm_endpoint": arm_url,
                "authority_host": "https://login.bench.invalid",
            },
        },
        "databricks": {
            "workspaces": [
                {"host": host, "name": d.name, "auth": {"type": "entra"}, "resource_id": d.id}
                for d, host in zip(tenant.dbx, hosts, strict=True)
            ]
        },
        "state": {"path": str(workdir / "state.db")},
        "logging": {"level": "warning", "format": "json"},
    }
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


# --- workers (run in their own process) -------------------------------------------------------


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return 0.0


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _kinds(snap: Any) -> dict[str, int]:
    out = {
        "aml_workspaces": len(snap.aml),
        "aml_jobs": sum(len(a.jobs) for a in snap.aml),
        "aml_computes": sum(len(a.computes) for a in snap.aml),
        "registries": len(snap.registries),
        "role_assignments": len(snap.role_assignments),
        "dbx_workspaces": len(snap.databricks),
    }
    for kind in ("clusters", "jobs", "runs", "repos", "experiments", "tokens"):
        out[f"dbx_{kind}"] = sum(len(getattr(d, kind)) for d in snap.databricks)
    return out


def worker_mlgov(job: dict[str, Any]) -> dict[str, Any]:
    """One `run_audit` over the emulator, with a static fake credential."""
    from mlgov.audit import AuditOptions, run_audit
    from mlgov.config import load_config
    from mlgov.context import AuditContext
    from mlgov.replay import StaticTokenCredential

    cfg = load_config(job["config"])
    rss0 = _rss_mb()
    ctx = AuditContext(cfg, azure_credential=StaticTokenCredential())
    t0 = time.perf_counter()
    result = run_audit(cfg, AuditOptions(), context=ctx)
    wall = time.perf_counter() - t0
    snap = result.snapshot
    return {
        "wall_s": round(wall, 3),
        "status": result.status,
        "objects": snap.object_count(),
        "objects_by_kind": _kinds(snap),
        "failed_scopes": [
            {"scope": s.scope_id, "family": s.family, "status": s.status, "error": (s.error or "")[:300]}
            for s in snap.failed_scopes
        ],
        "findings": len(result.evaluation.findings),
        "client_calls": result.api_calls,
        "client_peak_in_flight": {k: v.peak for k, v in ctx.limiters.items()},
        "token_fetches": ctx.azure_credential().requests,
        "rss_before_mb": round(rss0, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


def worker_naive(job: dict[str, Any]) -> dict[str, Any]:
    """The naive sequential collector over the emulator."""
    from benchmarks import naive
    from mlgov.replay import StaticTokenCredential

    rss0 = _rss_mb()
    t0 = time.perf_counter()
    out = naive.collect(job["arm_url"], StaticTokenCredential(), window_days=job.get("window_days", 30))
    wall = time.perf_counter() - t0
    return {
        "wall_s": round(wall, 3),
        "objects": sum(v for k, v in out["objects"].items() if k != "subscriptions"),
        "objects_by_kind": out["objects"],
        "phases_s": out["phases_s"],
        "rss_before_mb": round(rss0, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


def worker_eval(job: dict[str, Any]) -> dict[str, Any]:
    """Policy evaluation throughput over a synthetic snapshot."""
    from benchmarks import micro

    out = micro.evaluation(int(job["objects"]))
    out["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    return out


WORKERS = {"mlgov": worker_mlgov, "naive": worker_naive, "eval": worker_eval}


def run_worker(kind: str, job: dict[str, Any], env: dict[str, str], workdir: Path, timeout: float) -> dict[str, Any]:
    """Run a worker in a fresh interpreter; its stderr goes to `<workdir>/<kind>.log`."""
    job_file = workdir / f"{kind}-job.json"
    out_file = workdir / f"{kind}-out.json"
    job_file.write_text(json.dumps(job))
    cmd = [sys.executable, "-m", "benchmarks.run", "--worker", kind, "--job", str(job_file), "--out", str(out_file)]
    log_path = workdir / f"{kind}.log"
    t0 = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.run(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=timeout, check=False
        )
    if proc.returncode != 0 or not out_file.exists():
        tail = log_path.read_text(errors="replace")[-3000:]
        return {"error": f"worker {kind} exited with {proc.returncode}", "log_tail": tail}
    out = json.loads(out_file.read_text())
    out["process_s"] = round(time.perf_counter() - t0, 3)
    out["log"] = str(log_path)
    return out


# --- report -----------------------------------------------------------------------------------


def route_table(stats: dict[str, Any], minimum: dict[str, int]) -> list[dict[str, Any]]:
    """Per route: calls (all answers), 429s, errors, the minimum, and requested page sizes."""
    rows = []
    routes = stats.get("routes", {})
    for route in sorted(set(routes) | set(minimum)):
        r = routes.get(route, {"calls": 0, "status": {}, "params": {}})
        status = r["status"]
        rows.append(
            {
                "route": route,
                "calls": r["calls"],
                "throttled": status.get("429", 0),
                "errors": sum(n for code, n in status.items() if code != "429" and not code.startswith("2")),
                "minimum": minimum.get(route, 0),
                "page_params": {
                    k: v
                    for k, v in r.get("params", {}).items()
                    if k in ("limit", "page_size", "max_results", "listViewType")
                },
                "api_versions": r.get("params", {}).get("api-version", {}),
            }
        )
    return rows


def _fmt_s(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f} s" if x >= 10 else f"{x:.2f} s"


def markdown(results: dict[str, Any]) -> str:
    """A short Markdown report of a results dict."""
    m = results.get("mlgov", {})
    n = results.get("naive", {})
    minimum_total = sum(results["minimum_pages"].values())
    lines = [
        f"## mlgov benchmark: preset `{results['preset']}`, seed {results['seed']}, "
        f"latency {results['latency_ms']:g} ms, rate limits {'on' if results['rate_limits'] else 'off'}",
        "",
        f"Tenant: {', '.join(f'{k} {v}' for k, v in results['tenant_counts'].items())}.",
        "",
        "| | mlgov (`run_audit`) | naive sequential |",
        "|---|---|---|",
    ]

    def calls(run: dict[str, Any]) -> str:
        fams = run.get("emulator", {}).get("families", {})
        total = sum(f["calls"] for f in fams.values())
        thr = sum(f["throttled"] for f in fams.values())
        return f"{total} ({thr} throttled)" if fams else "-"

    def cell(run: dict[str, Any], key: str, fmt: Any = str) -> str:
        if "error" in run:
            return "failed"
        return fmt(run[key]) if key in run and run[key] is not None else "-"

    lines += [
        f"| wall time | {cell(m, 'wall_s', _fmt_s)} | {cell(n, 'wall_s', _fmt_s)} |",
        f"| objects collected | {cell(m, 'objects')} | {cell(n, 'objects')} |",
        f"| API requests (min {minimum_total}) | {calls(m)} | {calls(n)} |",
        f"| peak RSS | {cell(m, 'peak_rss_mb', lambda v: f'{v:.0f} MB')} | "
        f"{cell(n, 'peak_rss_mb', lambda v: f'{v:.0f} MB')} |",
    ]
    if results.get("speedup"):
        lines.append(f"| speed-up | {results['speedup']:.1f}x | 1x |")
    if m.get("status"):
        lines.append(f"| audit status | {m['status']} ({len(m.get('failed_scopes', []))} failed scopes) | |")
    for label, run in (("mlgov", m), ("naive", n)):
        if "error" in run:
            lines += ["", f"**{label} failed**: {run['error']}", "", "```", run.get("log_tail", "")[-1500:], "```"]
    if m.get("routes"):
        lines += [
            "",
            "### Requests by route (mlgov) vs the minimum the data needs",
            "",
            "| route | calls | minimum | x min | 429 | other errors | page sizes asked |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for r in m["routes"]:
            if not r["calls"] and not r["minimum"]:
                continue
            ratio = f"{r['calls'] / r['minimum']:.1f}" if r["minimum"] else "-"
            pp = "; ".join(f"{k}={','.join(v)}" for k, v in r["page_params"].items()) or ""
            counts = f"{r['calls']} | {r['minimum']} | {ratio} | {r['throttled']} | {r['errors']}"
            lines.append(f"| `{r['route']}` | {counts} | {pp} |")
    unknown = m.get("emulator", {}).get("unknown") or {}
    writes = m.get("emulator", {}).get("writes") or {}
    if unknown or writes:
        lines += ["", f"Unknown paths: {unknown or 'none'}; write attempts: {writes or 'none'}."]
    if m.get("failed_scopes"):
        lines += ["", "Failed scopes (mlgov):", ""]
        lines += [f"- `{s['scope']}` {s['family']}: {s['error'][:160]}" for s in m["failed_scopes"][:15]]
    ev = results.get("evaluation")
    st = results.get("startup")
    if ev or st:
        lines += ["", "| micro-benchmark | result |", "|---|---|"]
        if st:
            lines.append(f"| `{st['command']}` start-up (median of {st['runs']}) | {st['median_s']:.3f} s |")
        if ev and "error" not in ev:
            lines.append(
                f"| policy evaluation, {ev['objects']:,} objects | {ev['evaluate_s']:.2f} s, "
                f"{ev['objects_per_s']:,} objects/s ({ev['findings']:,} findings) |"
            )
    return "\n".join(lines) + "\n"


# --- main -------------------------------------------------------------------------------------


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    p.add_argument("--preset", choices=sorted(PRESETS), default="small")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--latency-ms", type=float, default=50.0)
    p.add_argument("--no-rate-limits", action="store_true", help="serve without 429 throttling")
    d = Limits()
    assert d.arm and d.databricks and d.mlflow_search
    p.add_argument("--arm-rps", type=float, default=d.arm.per_second, help="ARM reads per second per subscription")
    p.add_argument("--arm-burst", type=float, default=d.arm.burst)
    p.add_argument("--databricks-rps", type=float, default=d.databricks.per_second, help="per workspace")
    p.add_argument("--mlflow-search-rps", type=float, default=d.mlflow_search.per_second, help="per workspace")
    p.add_argument("--skip-mlgov", action="store_true")
    p.add_argument("--skip-naive", action="store_true")
    p.add_argument("--skip-eval", action="store_true")
    p.add_argument("--skip-startup", action="store_true")
    p.add_argument("--eval-objects", type=int, default=1_000_000)
    p.add_argument("--startup-runs", type=int, default=7)
    p.add_argument("--timeout", type=float, default=4 * 3600, help="per measured run, seconds")
    p.add_argument("--output", type=Path, default=None, help="results JSON (default benchmarks/results/...)")
    p.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    p.add_argument("--job", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = parse_args(argv)
    if args.worker:
        result = WORKERS[args.worker](json.loads(args.job.read_text()))
        args.out.write_text(json.dumps(result))
        return 0

    started = datetime.now(UTC)
    now_ms = int(started.timestamp()) // 60 * 60_000
    limits = (
        Limits.unlimited()
        if args.no_rate_limits
        else Limits(
            arm=RateLimit(args.arm_rps, args.arm_burst),
            databricks=RateLimit(args.databricks_rps, args.databricks_rps),
            mlflow_search=RateLimit(args.mlflow_search_rps, args.mlflow_search_rps),
        )
    )
    tenant = Tenant(args.preset, seed=args.seed, now_ms=now_ms)
    window = 30
    results: dict[str, Any] = {
        "kind": "mlgov.benchmark",
        "version": 1,
        "started_at": started.isoformat(),
        "preset": args.preset,
        "seed": args.seed,
        "latency_ms": args.latency_ms,
        "rate_limits": None if args.no_rate_limits else asdict(limits),
        "runs_window_days": window,
        "tenant_counts": tenant.counts(window_days=window),
        "minimum_pages": tenant.minimum_pages(window_days=window),
        "environment": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "git_commit": _git_commit(),
        },
    }
    workdir = Path(tempfile.mkdtemp(prefix="mlgov-bench-"))
    results["workdir"] = str(workdir)
    print(f"workdir {workdir}", file=sys.stderr)
    if not (args.skip_mlgov and args.skip_naive):
        emu = EmulatorProcess(
            args.preset, seed=args.seed, now_ms=now_ms, latency_ms=args.latency_ms, limits=limits, workdir=workdir
        )
        emu.start()
        try:
            tenant.set_databricks_hosts(emu.databricks_hosts)
            cfg = write_config(workdir / "mlgov.yaml", tenant, emu.arm_url, emu.databricks_hosts, workdir)
            env = {
                **os.environ,
                "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
                "REQUESTS_CA_BUNDLE": emu.ca_file,
                "SSL_CERT_FILE": emu.ca_file,
            }
            if not args.skip_mlgov:
                emu.reset()
                print("running mlgov run_audit ...", file=sys.stderr)
                run = run_worker("mlgov", {"config": str(cfg)}, env, workdir, args.timeout)
                run["emulator"] = emu.stats()
                run["routes"] = route_table(run["emulator"], results["minimum_pages"])
                results["mlgov"] = run
                print(f"  mlgov: {run.get('wall_s', run.get('error'))}", file=sys.stderr)
            if not args.skip_naive:
                emu.reset()
                print("running naive baseline ...", file=sys.stderr)
                run = run_worker("naive", {"arm_url": emu.arm_url, "window_days": window}, env, workdir, args.timeout)
                run["emulator"] = emu.stats()
                run["routes"] = route_table(run["emulator"], results["minimum_pages"])
                results["naive"] = run
                print(f"  naive: {run.get('wall_s', run.get('error'))}", file=sys.stderr)
        finally:
            emu.stop()
    m, n = results.get("mlgov", {}), results.get("naive", {})
    if m.get("wall_s") and n.get("wall_s"):
        results["speedup"] = round(n["wall_s"] / m["wall_s"], 2)
    if not args.skip_eval:
        print(f"evaluating policies over {args.eval_objects:,} objects ...", file=sys.stderr)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
        results["evaluation"] = run_worker("eval", {"objects": args.eval_objects}, env, workdir, args.timeout)
    if not args.skip_startup:
        from benchmarks import micro

        results["startup"] = micro.startup(args.startup_runs)
    results["finished_at"] = datetime.now(UTC).isoformat()
    out = args.output or RESULTS / f"{args.preset}-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))
    print(f"results: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
