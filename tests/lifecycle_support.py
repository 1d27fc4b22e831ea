"""Shared builders for the lifecycle, state, delivery and report tests.

Findings are built directly; results wrap them in a small Snapshot. `Receiver` is a real HTTP
server on 127.0.0.1 (http.server in a thread) that records every request and answers from a
script of responses.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from mlgov.audit import AuditResult
from mlgov.config import Config, parse_config
from mlgov.engine import Evaluation
from mlgov.findings import CostEstimate, Finding, FindingStatus, Remediation, Severity
from mlgov.inventory import AmlWorkspace, DatabricksWorkspace, ScopeStatus
from mlgov.prices import load_prices
from mlgov.snapshot import Snapshot

HOST = "adb-1111111111111111.11.azuredatabricks.net"
DBX = f"databricks://{HOST}"
AML = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-ml/providers/"
    "Microsoft.MachineLearningServices/workspaces/mlw-prod"
)
T0 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
POLICY_DIR = Path(__file__).parent / "data" / "policies"


def webhook_secret() -> str:
    """A throw-away Standard Webhooks secret built at run time."""
    return "whsec_" + base64.b64encode(bytes(range(32))).decode()


def finding(
    policy: str = "CST-001",
    name: str = "cluster-a",
    *,
    scope: str = DBX,
    severity: Severity = Severity.MEDIUM,
    status: FindingStatus = FindingStatus.FAIL,
    kind: str = "databricks.cluster",
    message: str | None = None,
    cost: float | None = None,
    evidence: dict[str, object] | None = None,
) -> Finding:
    """A finding on a resource called `name` in `scope`."""
    kind_path = "clusters" if scope.startswith("databricks://") else "computes"
    resource = f"{scope}/{kind_path}/{name}"
    return Finding(
        policy_id=policy,
        title=f"Title of {policy}",
        severity=severity,
        status=status,
        resource_id=resource,
        resource_kind=kind,
        resource_name=name,
        scope_id=scope,
        message=message or f"{name} breaks {policy}",
        evidence=evidence if evidence is not None else {"autotermination_minutes": 0},
        remediation=Remediation(
            summary=f"Fix {name} for {policy}",
            steps=("Open the workspace", "Change the setting"),
            cli="databricks clusters edit ...",
            doc_url="https://learn.microsoft.com/azure/databricks/",
        ),
        cost=CostEstimate(
            monthly=cost,
            currency="USD",
            formula="hours x rate",
            inputs={"hours": 730, "rate": 0.5},
            price_source="test prices",
        )
        if cost is not None
        else None,
    )


def result(
    findings: Sequence[Finding],
    *,
    policies: Iterable[str] = ("CST-001", "MLF-001", "EXP-002", "IAM-002", "AUD-001"),
    scopes: Iterable[str] = (DBX,),
    failed: Iterable[str] = (),
    status: str | None = None,
    started: datetime = T0,
) -> AuditResult:
    """An AuditResult whose coverage is every (policy, scope) except the failed scopes."""
    scopes = list(scopes)
    failed = {s.lower() for s in failed}
    policies = tuple(policies)
    coverage = frozenset((p, s.lower()) for p in policies for s in scopes if s.lower() not in failed)
    statuses = tuple(
        ScopeStatus(scope_id=s, scope_kind="databricks_workspace", family="*", ok=s.lower() not in failed)
        for s in scopes
    )
    dbx = tuple(
        DatabricksWorkspace(resource_id=s, host=s.removeprefix("databricks://"), name=f"ws-{i}")
        for i, s in enumerate(scopes)
        if s.startswith("databricks://")
    )
    aml = tuple(
        AmlWorkspace(
            resource_id=s, name=s.rsplit("/", 1)[-1], subscription_id="sub", resource_group="rg",
            location="westeurope", registry_id=None,
        )
        for s in scopes
        if not s.startswith("databricks://")
    )
    snap = Snapshot(taken_at=started, scopes=statuses, databricks=dbx, aml=aml)
    run_status: Any = status or ("partial" if failed else "success")
    return AuditResult(
        snapshot=snap,
        evaluation=Evaluation(findings=tuple(findings), coverage=coverage, policies=policies),
        status=run_status,
        started_at=started,
        duration_seconds=1.5,
        prices=load_prices(),
    )


def config(
    tmp: Path,
    *,
    destinations: Sequence[dict[str, Any]] = (),
    waivers: Path | None = None,
    notifications: dict[str, Any] | None = None,
    lock_timeout: float = 5.0,
    **extra: Any,
) -> Config:
    """A config with a state file in `tmp`, fast delivery settings and the test policy directory."""
    raw: dict[str, Any] = {
        "version": 1,
        "databricks": {"workspaces": [{"host": HOST}]},
        "policies": {"directory": str(POLICY_DIR)},
        "state": {"path": str(tmp / "state.db"), "lock_timeout_seconds": lock_timeout},
        "notifications": {
            "destinations": list(destinations),
            "deadline_seconds": 10,
            "max_attempts": 3,
            "backoff_seconds": 0,
            "min_interval_seconds": 0,
            "attempt_timeout_seconds": 5,
            **(notifications or {}),
        },
    }
    if waivers is not None:
        raw["waivers"] = {"file": str(waivers)}
    raw.update(extra)
    return parse_config(raw, source="test config")


# --- a loopback HTTP receiver ------------------------------------------------------------------


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class Reply:
    """A scripted answer: status, headers, body, and an optional delay before answering."""

    status: int = 202
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0


class Receiver:
    """Records requests; answers each with the next scripted Reply (then `default`)."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.script: list[Reply] = []
        self.default = Reply()
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.release.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    reply = receiver.script.pop(0) if receiver.script else receiver.default
                receiver.release.wait(timeout=30)
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def url(self, path: str = "/hook") -> str:
        """A URL on the receiver."""
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def receiver() -> Iterator[Receiver]:
    """A started Receiver, stopped on exit."""
    r = Receiver().start()
    try:
        yield r
    finally:
        r.stop()


def sample_report(tmp: Path) -> Any:
    """A Report with open, new, waived, error and resolved findings, built through record_run."""
    from dataclasses import replace
    from datetime import timedelta

    from mlgov.lifecycle import record_run
    from mlgov.report import Report

    other = "databricks://adb-2222222222222222.12.azuredatabricks.net"
    waivers = tmp / "waivers.yaml"
    waivers.write_text(
        "version: 1\nwaivers:\n  - policy: EXP-002\n"
        f"    resource: '{other}/*'\n    reason: Kept for the audit trail\n    owner: data@contoso.com\n"
        "    expires: 2026-11-27\n    created: 2026-11-01\n",
        encoding="utf-8",
    )
    cfg = config(tmp, waivers=waivers)
    base = [
        finding("MLF-001", "etl <b>nightly</b> =cmd|' /C calc'!A0", severity=Severity.HIGH,
                evidence={"location": "spark_conf", "key": "spark.mlflow.token", "expired_at": "2026-10-30"}),
        finding("CST-001", "shared analytics", cost=412.34),
        finding("EXP-002", "exp|1", scope=other, severity=Severity.LOW),
        finding("CST-001", "ci-42", scope=AML, cost=88.5),
        finding("AUD-001", "jobs", scope=other, severity=Severity.ERROR, status=FindingStatus.ERROR,
                message="Jobs API returned 403"),
    ]
    scopes = [DBX, other, AML]
    record_run(result([*base, finding("CST-001", "old")], scopes=scopes), cfg, notify=False, now=T0)
    later = [*base, finding("IAM-002", "token-1")]
    res = result(later, scopes=scopes)
    res = replace(res, snapshot=replace(res.snapshot, scopes=(
        *res.snapshot.scopes,
        ScopeStatus(scope_id=other, scope_kind="databricks_workspace", family="jobs", ok=False,
                    error="403 Forbidden", status=403, hint="Grant CAN_VIEW"),
    )), status="partial")
    now = T0 + timedelta(days=21)
    out = record_run(res, cfg, notify=False, now=now)
    return Report(
        result=res, findings=out.findings, generated_at=now, lifecycle=out.lifecycle, resolved=out.resolved,
        expiring_waivers=out.expiring_waivers, target_label="contoso <prod>",
    )
