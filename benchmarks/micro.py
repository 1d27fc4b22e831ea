"""Micro-benchmarks that need no emulator: CLI start-up and policy evaluation throughput.

- `startup(n)`: wall time of `mlgov --help` in a fresh process, median of `n` runs;
- `synthetic_snapshot(objects)`: a `Snapshot` of about `objects` inventory records (Databricks
  clusters, jobs with tasks, runs, experiments, tokens, repos; AML jobs and computes;
  registries; role assignments), built in memory from `mlgov.inventory` records, with about one
  object in ten breaking a policy;
- `evaluation(objects)`: `engine.evaluate` over that snapshot with the shipped catalogue and
  prices, in objects per second.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any


def startup(runs: int = 7) -> dict[str, Any]:
    """`mlgov --help` wall time in a new process (median, min, max of `runs`)."""
    exe = Path(sys.executable).parent / "mlgov"
    cmd = [str(exe), "--help"] if exe.exists() else [sys.executable, "-m", "mlgov.cli", "--help"]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return {
        "command": " ".join(Path(c).name if i == 0 else c for i, c in enumerate(cmd)),
        "runs": runs,
        "median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
    }


# Per workspace, before scaling to the requested object count.
_DBX_WS = 8
_AML_WS = 20
_DBX_BASE = {"clusters": 2500, "jobs": 25_000, "runs": 50_000, "experiments": 15_000, "tokens": 400, "repos": 100}
_AML_BASE = {"jobs": 12_500, "computes": 50}


def synthetic_snapshot(objects: int = 1_000_000, *, now: datetime | None = None) -> Any:
    """A snapshot of about `objects` records (`Snapshot.object_count()` gives the exact number)."""
    from mlgov import inventory as inv
    from mlgov.snapshot import Snapshot

    now = (now or datetime.now(UTC)).replace(microsecond=0)
    base_total = _DBX_WS * (sum(_DBX_BASE.values()) + 1) + _AML_WS * (sum(_AML_BASE.values()) + 1) + 1010
    f = objects / base_total
    dbx_n = {k: max(1, round(v * f)) for k, v in _DBX_BASE.items()}
    aml_n = {k: max(1, round(v * f)) for k, v in _AML_BASE.items()}
    days = [now - timedelta(days=d, hours=d % 24) for d in range(0, 1000)]
    sizes = [
        inv.ClusterSize(node_type_id="Standard_DS3_v2", num_workers=2, availability="ON_DEMAND_AZURE"),
        inv.ClusterSize(node_type_id="Standard_E8ds_v5", autoscale_min=1, autoscale_max=8, availability="SPOT_AZURE"),
    ]
    expired = inv.TokenFacts(kind="jwt", expires_at=now - timedelta(days=10), audience="2ff814a6")
    dbx = []
    for w in range(_DBX_WS):
        host = f"adb-{w}.{w}.azuredatabricks.net"
        rid = f"databricks://{host}"
        clusters = tuple(
            inv.DbxCluster(
                resource_id=f"{rid}/clusters/c{i}",
                cluster_id=f"c{i}",
                name=f"cluster-{i}",
                source=("UI", "API", "JOB", "JOB", "JOB")[i % 5],
                state="RUNNING" if i % 3 == 0 else "TERMINATED",
                autotermination_minutes=(60, 120, 60, 120, 0, 60, 120, 60, 120, 300)[i % 10],
                size=sizes[i % 2],
                creator=f"user{i % 100}@contoso.example",
            )
            for i in range(dbx_n["clusters"])
        )
        jobs = []
        for j in range(dbx_n["jobs"]):
            existing = j % 20 == 0
            tasks = (
                inv.DbxTask(
                    task_key="a",
                    kind="notebook",
                    compute="existing_cluster" if existing else "job_cluster",
                    existing_cluster_id=f"c{(j * 5) % dbx_n['clusters']}" if existing else None,
                    job_cluster_key=None if existing else "main",
                    path=f"/Workspace/Users/u{j % 50}/nb" if j % 10 == 0 else "nb",
                    source="WORKSPACE" if j % 10 == 0 else "GIT",
                ),
                inv.DbxTask(task_key="b", kind="spark_python", compute="serverless", path="main.py", source="GIT"),
            )
            jobs.append(
                inv.DbxJob(
                    resource_id=f"{rid}/jobs/{j}",
                    job_id=j,
                    name=f"job-{j}",
                    creator=f"user{j % 100}@contoso.example",
                    git_url=None if j % 10 == 0 else "https://github.com/contoso/x.git",
                    tasks=tasks,
                    job_clusters=()
                    if existing
                    else (inv.DbxJobCluster(key="main", size=sizes[0 if j % 10 == 0 else 1]),),
                    scheduled=j % 2 == 0,
                    created_at=days[j % 1000],
                )
            )
        runs = tuple(
            inv.DbxJobRun(
                run_id=r,
                job_id=(r * 7) % dbx_n["jobs"],
                start_time=days[r % 29],
                duration_ms=3_600_000,
                tasks=(
                    inv.DbxTaskRun(task_key="a", cluster_id=f"c{(r * 35) % dbx_n['clusters']}", duration_ms=3_000_000),
                ),
            )
            for r in range(dbx_n["runs"])
        )
        exps = tuple(
            inv.DbxExperiment(
                resource_id=f"{rid}/experiments/{e}",
                experiment_id=str(e),
                name=f"/Users/u{e % 50}/exp-{e}",
                lifecycle_stage="active",
                created_at=days[(e % 900) + 50],
                last_update_at=days[(e % 900) + 40],
                latest_run_at=days[e % 100] if e % 20 else None,
            )
            for e in range(dbx_n["experiments"])
        )
        tokens = tuple(
            inv.DbxToken(
                resource_id=f"{rid}/tokens/t{t}",
                token_id=f"t{t}",
                created_by=f"user{t % 100}@contoso.example",
                comment=None,
                created_at=days[(t % 300) + 10],
                expires_at=None if t % 4 == 0 else days[(t % 300)] + timedelta(days=365),
            )
            for t in range(dbx_n["tokens"])
        )
        repos = tuple(
            inv.DbxRepo(
                resource_id=f"{rid}/repos/{k}",
                repo_id=k,
                path=f"/Repos/u/p{k}",
                url=f"https://github.com/contoso/p{k}.git",
                provider="gitHub",
            )
            for k in range(dbx_n["repos"])
        )
        secrets = tuple(
            inv.SecretSighting(
                resource_id=f"{rid}/jobs/{j}",
                resource_name=f"job-{j}",
                resource_kind="databricks.job",
                location="job_clusters[main].new_cluster.spark_env_vars",
                key="MLFLOW_TRACKING_TOKEN",
                token=expired,
            )
            for j in range(0, dbx_n["jobs"], 50)
        )
        dbx.append(
            inv.DatabricksWorkspace(
                resource_id=rid,
                host=host,
                name=f"dbx-{w}",
                arm_id=f"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Databricks/workspaces/dbx-{w}",
                location="westeurope",
                pricing_tier="premium",
                clusters=clusters,
                jobs=tuple(jobs),
                runs=runs,
                runs_window_days=30,
                repos=repos,
                experiments=exps,
                tokens=tokens,
                secrets=secrets,
            )
        )
    aml = []
    registries = []
    for a in range(_AML_WS):
        ws_id = (
            f"/subscriptions/s{a % 4}/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/aml-{a}"
        )
        reg_id = f"/subscriptions/s0/resourceGroups/acr/providers/Microsoft.ContainerRegistry/registries/acr{a // 2}"
        computes = tuple(
            inv.AmlCompute(
                resource_id=f"{ws_id}/computes/c{c}",
                name=f"c{c}",
                compute_type="ComputeInstance" if c % 3 == 0 else "AmlCompute",
                state="Running",
                vm_size="STANDARD_DS3_V2",
                idle_shutdown_minutes=None if c % 6 == 0 else 60,
                min_nodes=None if c % 3 == 0 else c % 2,
                max_nodes=None if c % 3 == 0 else 4,
                vm_priority=None if c % 3 == 0 else ("Dedicated", "LowPriority")[c % 2],
            )
            for c in range(aml_n["computes"])
        )
        jobs_a = tuple(
            inv.AmlJob(
                resource_id=f"{ws_id}/jobs/j{j}",
                name=f"j{j}",
                experiment=f"exp-{j % 400}",
                job_type="Command",
                status="Completed",
                created_at=days[j % 100],
                modified_at=days[j % 100],
                compute_id=f"{ws_id}/computes/c{j % aml_n['computes']}",
                git_repo_url=None if j % 10 == 0 else "https://github.com/contoso/ml.git",
                git_commit=None if j % 10 == 0 else "0" * 40,
            )
            for j in range(aml_n["jobs"])
        )
        aml.append(
            inv.AmlWorkspace(
                resource_id=ws_id,
                name=f"aml-{a}",
                subscription_id=f"s{a % 4}",
                resource_group="rg",
                location="westeurope",
                registry_id=reg_id,
                computes=computes,
                jobs=jobs_a,
            )
        )
        if a % 2 == 0:
            registries.append(
                inv.ContainerRegistry(
                    resource_id=reg_id,
                    name=f"acr{a // 2}",
                    exists=True,
                    sku="Basic",
                    size_bytes=(12 if a % 4 == 0 else 5) * 1024**3,
                    included_bytes=10 * 1024**3,
                    used_by=(ws_id,),
                )
            )
    assignments = tuple(
        inv.RoleAssignment(
            assignment_id=f"ra{k}",
            applies_to=aml[k % _AML_WS].resource_id,
            scope=aml[k % _AML_WS].resource_id,
            principal_id=f"p{k % 300}",
            principal_type="User",
            role_definition_id="/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
            role_name="Owner" if k % 5 == 0 else "Reader",
            role_type="BuiltInRole",
            actions=("*",) if k % 5 == 0 else ("*/read",),
        )
        for k in range(1000)
    )
    return Snapshot(
        taken_at=now, databricks=tuple(dbx), aml=tuple(aml), registries=tuple(registries), role_assignments=assignments
    )


def evaluation(objects: int = 1_000_000) -> dict[str, Any]:
    """Build the synthetic snapshot and time `engine.evaluate` over it."""
    from mlgov.audit import load_policy_catalogue, price_book
    from mlgov.engine import evaluate

    t0 = time.perf_counter()
    snap = synthetic_snapshot(objects)
    built = time.perf_counter() - t0
    catalogue = load_policy_catalogue(None)
    prices = price_book(None)
    t1 = time.perf_counter()
    result = evaluate(snap, catalogue, prices)
    took = time.perf_counter() - t1
    n = snap.object_count()
    return {
        "objects": n,
        "build_s": round(built, 2),
        "evaluate_s": round(took, 3),
        "objects_per_s": round(n / took) if took else None,
        "findings": len(result.findings),
        "policies": len(result.policies),
    }
