"""A loopback HTTPS emulator of the APIs mlgov reads, serving a synthetic `Tenant`.

One port speaks Azure Resource Manager (subscriptions, generic resources, AML workspaces,
computes and jobs, ACR, role assignments and definitions, the AML discovery URL); one port
per Databricks workspace speaks its REST API (clusters, jobs, runs, repos, tokens, MLflow
search). Everything listens on 127.0.0.1 only, over TLS with a CA and a server certificate
generated at start (clients trust `ca_file` through REQUESTS_CA_BUNDLE / SSL_CERT_FILE).

Behaviour a client must cope with, as the real services do:
- paging: ARM `nextLink` (+ `$skipToken`), Databricks `page_token`/`next_page_token`, with the
  page sizes of `tenant.PageSizes` (a `limit` above the API's maximum is a 400);
- latency: every answer waits `latency_ms`;
- throttling: token buckets per API family and scope (ARM reads per subscription, Databricks
  REST per workspace, MLflow search per workspace) answer 429 with `Retry-After`;
- unknown paths or parameters answer 404/400 and are logged and counted, so that a mismatch
  between the emulator and what an SDK sends is visible in the stats.

Every request is counted by route (see `tenant.R_*`) and status; `stats()` returns the counts.
Run it in this process (`Emulator`, for tests) or in a child process (`EmulatorProcess`, for
benchmarks, so that serving does not compete with the audit for the GIL).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import ipaddress
import json
import logging
import math
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from benchmarks import tenant as T
from benchmarks.tenant import DbxWs, Tenant

log = logging.getLogger("benchmarks.emulator")

# --- TLS ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """Paths of the generated CA and server certificate."""

    ca_file: str
    cert_file: str
    key_file: str


def make_tls(directory: Path) -> TlsFiles:
    """Generate a CA and a server certificate for 127.0.0.1 / localhost, signed by that CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mlgov benchmark emulator CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(
        ca_file=str(directory / "ca.pem"),
        cert_file=str(directory / "server.pem"),
        key_file=str(directory / "server.key"),
    )
    Path(files.ca_file).write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    Path(files.cert_file).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    Path(files.key_file).write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return files


# --- Rate limits ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A token bucket: `per_second` refill, `burst` capacity."""

    per_second: float
    burst: float


@dataclass(frozen=True, slots=True)
class Limits:
    """Server-side rate limits per API family (None: unlimited).

    Defaults: ARM reads 25/s with a bucket of 250 per subscription (ARM's regional token
    bucket); Databricks REST 30/s per workspace (the commonly quoted default, not an official
    figure); MLflow search endpoints 7/s per workspace (Azure Databricks "API rate limits").
    """

    arm: RateLimit | None = RateLimit(25.0, 250.0)
    databricks: RateLimit | None = RateLimit(30.0, 30.0)
    mlflow_search: RateLimit | None = RateLimit(7.0, 7.0)

    @classmethod
    def unlimited(cls) -> Limits:
        """No throttling at all."""
        return cls(arm=None, databricks=None, mlflow_search=None)


class TokenBucket:
    """A thread-safe token bucket."""

    def __init__(self, limit: RateLimit) -> None:
        self.rate = limit.per_second
        self.burst = limit.burst
        self.tokens = limit.burst
        self.last = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> tuple[float, float]:
        """Take one token: (0, tokens left) if allowed, else (seconds until one is there, 0)."""
        with self._lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return 0.0, self.tokens
            return (1.0 - self.tokens) / self.rate, 0.0


# --- Errors and paging helpers --------------------------------------------------------------


class ApiError(Exception):
    """An error answer: HTTP status plus the service's error body."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(json.dumps(body))
        self.status = status
        self.body = body
        self.headers = headers or {}


def arm_error(status: int, code: str, message: str) -> ApiError:
    """An ARM-style error."""
    return ApiError(status, {"error": {"code": code, "message": message}})


def dbx_error(status: int, code: str, message: str) -> ApiError:
    """A Databricks-style error."""
    return ApiError(status, {"error_code": code, "message": message})


def encode_token(offset: int, tag: str = "") -> str:
    """An opaque page token for `offset`."""
    return base64.urlsafe_b64encode(f"{tag}:{offset}".encode()).decode().rstrip("=")


def decode_token(token: str | None, *, tag: str = "", error: Callable[[str], ApiError]) -> int:
    """The offset in a page token; a malformed one is the service's 400."""
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        got_tag, _, num = raw.rpartition(":")
        if got_tag != tag:
            raise ValueError(got_tag)
        offset = int(num)
        if offset < 0:
            raise ValueError(num)
        return offset
    except (ValueError, UnicodeDecodeError):
        raise error(f"invalid page token {token!r}") from None


def _bool(value: str | None) -> bool:
    return (value or "").lower() == "true"


# --- Stats ----------------------------------------------------------------------------------

_RECORDED_PARAMS = {
    "api-version",
    "listViewType",
    "$filter",
    "$top",
    "$expand",
    "jobType",
    "tag",
    "limit",
    "page_size",
    "expand_tasks",
    "completed_only",
    "active_only",
    "run_type",
    "max_results",
    "view_type",
    "run_view_type",
    "order_by",
    "filter",
    "path_prefix",
    "filter_by.cluster_sources",
    "filter_by.cluster_states",
    "filter_by.is_pinned",
    "experiment_ids#",
}
_PRESENCE_PARAMS = {"job_id", "start_time_from", "start_time_to", "page_token", "$skipToken", "next_page_token"}


class Stats:
    """Thread-safe request counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget every count."""
        with self._lock:
            self.calls: Counter[str] = Counter()
            self.status: defaultdict[str, Counter[str]] = defaultdict(Counter)
            self.params: defaultdict[str, defaultdict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
            self.unknown: Counter[str] = Counter()
            self.writes: Counter[str] = Counter()
            self.bytes_out: Counter[str] = Counter()
            self.started = time.time()
            self.first: float | None = None
            self.last: float | None = None

    def record(self, route: str, status: int, params: dict[str, str], size: int) -> None:
        """Count one answered request."""
        now = time.time()
        with self._lock:
            self.calls[route] += 1
            self.status[route][str(status)] += 1
            self.bytes_out[route.split(" ", 1)[0]] += size
            for k, v in params.items():
                if k in _RECORDED_PARAMS:
                    self.params[route][k][v[:120]] += 1
                elif k in _PRESENCE_PARAMS:
                    self.params[route][k]["set"] += 1
            self.first = self.first or now
            self.last = now

    def record_unknown(self, what: str) -> None:
        """Count a request for a path or parameter the emulator does not know."""
        with self._lock:
            self.unknown[what] += 1

    def record_write(self, what: str) -> None:
        """Count a write attempt (the audit promises to be read-only)."""
        with self._lock:
            self.writes[what] += 1

    def snapshot(self) -> dict[str, Any]:
        """Everything counted, JSON-ready."""
        with self._lock:
            families: dict[str, dict[str, int]] = {}
            for route, n in self.calls.items():
                fam = families.setdefault(route.split(" ", 1)[0], {"calls": 0, "throttled": 0, "errors": 0})
                fam["calls"] += n
                for code, m in self.status[route].items():
                    if code == "429":
                        fam["throttled"] += m
                    elif not code.startswith("2"):
                        fam["errors"] += m
            for fam, size in self.bytes_out.items():
                families.setdefault(fam, {"calls": 0, "throttled": 0, "errors": 0})["bytes_out"] = size
            return {
                "routes": {
                    r: {
                        "calls": n,
                        "status": dict(self.status[r]),
                        "params": {k: dict(v) for k, v in self.params[r].items()},
                    }
                    for r, n in sorted(self.calls.items())
                },
                "families": families,
                "unknown": dict(self.unknown),
                "writes": dict(self.writes),
                "active_seconds": round((self.last or 0) - (self.first or 0), 3) if self.first else 0.0,
            }


# --- HTTP plumbing --------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, emulator: Emulator, kind: str | int, ssl_ctx: ssl.SSLContext) -> None:
        self.emulator = emulator
        self.kind = kind
        self.ssl_ctx = ssl_ctx
        super().__init__(("127.0.0.1", 0), _Handler)

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # The TLS handshake runs in the connection's own thread (see _Handler.setup), so a
        # slow client never holds up the accept loop.
        return self.ssl_ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, TimeoutError, OSError)):
            log.debug("emulator connection error: %s", exc)
            return
        log.exception("emulator error while serving %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120
    server: _Server

    def setup(self) -> None:
        self.request.settimeout(self.timeout)
        self.request.do_handshake()
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, data, headers = self.server.emulator.dispatch(self.server.kind, method, self.path, self.headers, body)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(data)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_HEAD(self) -> None:
        self._serve("HEAD")


@dataclass(slots=True)
class _Request:
    kind: str | int
    method: str
    path: str
    query: dict[str, str]
    multi: dict[str, list[str]]
    body: Any
    match: dict[str, str] = field(default_factory=dict)


Handler = Callable[[_Request], Any]

_I = re.IGNORECASE
_SEG = r"[^/]+"
_RG = rf"/subscriptions/(?P<s>{_SEG})/resourceGroups/(?P<rg>{_SEG})/providers"
_AMLWS = rf"{_RG}/Microsoft\.MachineLearningServices/workspaces/(?P<w>{_SEG})"
_DBXWS = rf"{_RG}/Microsoft\.Databricks/workspaces/(?P<w>{_SEG})"
_ACR = rf"{_RG}/Microsoft\.ContainerRegistry/registries/(?P<r>{_SEG})"


# --- The emulator ---------------------------------------------------------------------------


class Emulator:
    """Serves a tenant on 127.0.0.1: `arm_url` for ARM, `databricks_hosts[i]` per workspace."""

    def __init__(
        self,
        tenant: Tenant,
        *,
        latency_ms: float = 0.0,
        limits: Limits | None = None,
        tls_dir: str | Path | None = None,
    ) -> None:
        self.tenant = tenant
        self.latency = latency_ms / 1000.0
        self.limits = limits if limits is not None else Limits()
        self._tls_dir = Path(tls_dir) if tls_dir else None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.stats = Stats()
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._bucket_lock = threading.Lock()
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []
        self._job_names: dict[int, dict[str, int]] = {}
        self.arm_url = ""
        self.databricks_hosts: list[str] = []
        self.tls: TlsFiles | None = None
        self._arm_routes: list[tuple[re.Pattern[str], str, tuple[str, ...], Handler]] = [
            (re.compile(p, _I), route, methods, fn)
            for p, route, methods, fn in [
                (r"^/subscriptions$", T.R_SUBS, ("GET",), self._subs),
                (rf"^/subscriptions/(?P<s>{_SEG})$", T.R_SUB_GET, ("GET",), self._sub_get),
                (rf"^/subscriptions/(?P<s>{_SEG})/resources$", T.R_RESOURCES, ("GET",), self._resources),
                (
                    rf"^/subscriptions/(?P<s>{_SEG})/resourceGroups/(?P<rg>{_SEG})/resources$",
                    T.R_RG_RESOURCES,
                    ("GET",),
                    self._resources,
                ),
                (
                    rf"^/subscriptions/(?P<s>{_SEG})/providers/Microsoft\.MachineLearningServices/workspaces$",
                    T.R_AML_WS_LIST,
                    ("GET",),
                    self._aml_ws_list,
                ),
                (
                    rf"^/subscriptions/(?P<s>{_SEG})/resourceGroups/(?P<rg>{_SEG})/providers/Microsoft\.MachineLearningServices/workspaces$",
                    T.R_AML_WS_LIST_RG,
                    ("GET",),
                    self._aml_ws_list,
                ),
                (rf"^{_AMLWS}$", T.R_AML_WS_GET, ("GET",), self._aml_ws_get),
                (rf"^{_AMLWS}/computes$", T.R_AML_COMPUTES, ("GET",), self._aml_computes),
                (rf"^{_AMLWS}/computes/(?P<c>{_SEG})$", T.R_AML_COMPUTE_GET, ("GET",), self._aml_compute_get),
                (rf"^{_AMLWS}/jobs$", T.R_AML_JOBS, ("GET",), self._aml_jobs),
                (rf"^{_AMLWS}/jobs/(?P<j>{_SEG})$", T.R_AML_JOB_GET, ("GET",), self._aml_job_get),
                (
                    rf"^/subscriptions/(?P<s>{_SEG})/providers/Microsoft\.Databricks/workspaces$",
                    T.R_DBX_WS_LIST,
                    ("GET",),
                    self._dbx_ws_list,
                ),
                (
                    rf"^/subscriptions/(?P<s>{_SEG})/resourceGroups/(?P<rg>{_SEG})/providers/Microsoft\.Databricks/workspaces$",
                    T.R_DBX_WS_LIST_RG,
                    ("GET",),
                    self._dbx_ws_list,
                ),
                (rf"^{_DBXWS}$", T.R_DBX_WS_GET, ("GET",), self._dbx_ws_get),
                (rf"^{_ACR}$", T.R_ACR_GET, ("GET",), self._acr_get),
                (rf"^{_ACR}/listUsages$", T.R_ACR_USAGES, ("GET", "POST"), self._acr_usages),
                (
                    r"^(?P<scope>.*)/providers/Microsoft\.Authorization/roleAssignments$",
                    T.R_RA_LIST,
                    ("GET",),
                    self._ra_list,
                ),
                (
                    rf"^(?P<scope>.*)/providers/Microsoft\.Authorization/roleDefinitions/(?P<id>{_SEG})$",
                    T.R_RD_GET,
                    ("GET",),
                    self._rd_get,
                ),
                (
                    r"^(?P<scope>.*)/providers/Microsoft\.Authorization/roleDefinitions$",
                    T.R_RD_LIST,
                    ("GET",),
                    self._rd_list,
                ),
                (r"^/discovery$", T.R_DISCOVERY, ("GET",), self._discovery),
                (r"^/metadata/endpoints$", T.R_METADATA, ("GET",), self._metadata),
            ]
        ]
        self._dbx_routes: dict[str, tuple[str, tuple[str, ...], Handler]] = {
            "/.well-known/databricks-config": (T.R_DBX_CONFIG, ("GET",), self._dbx_config),
            "/api/2.1/clusters/list": (T.R_CLUSTERS, ("GET",), self._clusters),
            "/api/2.1/clusters/get": (T.R_CLUSTER_GET, ("GET",), self._cluster_get),
            "/api/2.2/jobs/list": (T.R_JOBS, ("GET",), self._jobs),
            "/api/2.2/jobs/get": (T.R_JOB_GET, ("GET",), self._job_get),
            "/api/2.2/jobs/runs/list": (T.R_RUNS, ("GET",), self._runs),
            "/api/2.2/jobs/runs/get": (T.R_RUN_GET, ("GET",), self._run_get),
            "/api/2.0/repos": (T.R_REPOS, ("GET",), self._repos),
            "/api/2.0/token-management/tokens": (T.R_TOKENS, ("GET",), self._tokens),
            "/api/2.0/mlflow/experiments/search": (T.R_EXP_SEARCH, ("POST",), self._exp_search),
            "/api/2.0/mlflow/runs/search": (T.R_RUN_SEARCH, ("POST",), self._run_search),
        }

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> Emulator:
        """Generate TLS material, bind every port, start serving."""
        if self._tls_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="mlgov-bench-tls-")
            self._tls_dir = Path(self._tmp.name)
        self.tls = make_tls(self._tls_dir)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.tls.cert_file, self.tls.key_file)
        kinds: list[str | int] = ["arm", *range(len(self.tenant.dbx))]
        for kind in kinds:
            server = _Server(self, kind, ctx)
            self._servers.append(server)
            t = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"emulator-{kind}", daemon=True
            )
            t.start()
            self._threads.append(t)
        self.arm_url = f"https://127.0.0.1:{self._servers[0].server_address[1]}"
        self.databricks_hosts = [f"https://127.0.0.1:{s.server_address[1]}" for s in self._servers[1:]]
        self.tenant.set_databricks_hosts(self.databricks_hosts)
        log.info("emulator up: arm %s, databricks %s", self.arm_url, ", ".join(self.databricks_hosts))
        return self

    def stop(self) -> None:
        """Stop serving and remove the TLS files it generated."""
        for s in self._servers:
            s.shutdown()
            s.server_close()
        self._servers.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def ca_file(self) -> str:
        """The CA certificate clients must trust."""
        assert self.tls is not None, "start() the emulator first"
        return self.tls.ca_file

    def info(self) -> dict[str, Any]:
        """Where it listens and what it serves (JSON-ready)."""
        return {
            "arm_url": self.arm_url,
            "databricks_hosts": self.databricks_hosts,
            "ca_file": self.ca_file,
            "latency_ms": self.latency * 1000,
            "limits": asdict(self.limits),
            "preset": self.tenant.preset.name,
            "seed": self.tenant.seed,
            "now_ms": self.tenant.now_ms,
        }

    def reset(self) -> None:
        """Zero the counters and refill every rate-limit bucket."""
        self.stats.reset()
        with self._bucket_lock:
            self._buckets.clear()

    # --- dispatch -----------------------------------------------------------------------

    def dispatch(
        self, kind: str | int, method: str, raw_path: str, headers: Any, body: bytes
    ) -> tuple[int, bytes, dict[str, str]]:
        """Answer one request: (status, JSON body, extra headers)."""
        parts = urlsplit(raw_path)
        path = unquote(parts.path)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        query = dict(pairs)
        multi: dict[str, list[str]] = defaultdict(list)
        for k, v in pairs:
            multi[k].append(v)
        if kind == "arm" and path.startswith("/_emulator/"):
            status, payload, extra_h = self._admin(method, path)
            return status, json.dumps(payload).encode(), extra_h
        found = self._route(kind, path)
        family = "arm" if kind == "arm" else "databricks"
        if found is None:
            what = f"{'arm' if kind == 'arm' else 'databricks'} {method} {path}"
            self.stats.record_unknown(what)
            log.warning("emulator: unknown path %s (query %s)", what, parts.query[:200])
            err = (
                arm_error(404, "EmulatorUnknownPath", f"the emulator does not serve {method} {path}")
                if kind == "arm"
                else dbx_error(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}' (emulator)")
            )
            return err.status, json.dumps(err.body).encode(), {}
        route, methods, fn, match = found
        family = route.split(" ", 1)[0]
        if method not in methods:
            self.stats.record_write(f"{method} {route.split(' ', 2)[2]}")
            log.warning("emulator: %s on %s refused (the audit must be read-only)", method, path)
            err = (
                arm_error(405, "MethodNotAllowed", f"{method} not allowed")
                if kind == "arm"
                else dbx_error(405, "METHOD_NOT_ALLOWED", f"{method} not allowed")
            )
            return self._finish(route, err.status, err.body, {}, query)
        if self.latency:
            time.sleep(self.latency)
        if family != "other":
            auth = headers.get("Authorization") or ""
            if not auth.startswith("Bearer ") or len(auth) < 12:
                err = (
                    arm_error(401, "AuthenticationFailed", "no bearer token")
                    if kind == "arm"
                    else dbx_error(401, "UNAUTHENTICATED", "no bearer token")
                )
                return self._finish(route, err.status, err.body, {}, query)
        if kind == "arm" and family == "arm" and "api-version" not in query:
            err = arm_error(400, "MissingApiVersionParameter", "The api-version query parameter is required.")
            return self._finish(route, err.status, err.body, {}, query)
        extra: dict[str, str] = {}
        limit = getattr(self.limits, family, None) if family != "other" else None
        if limit is not None:
            scope = match.get("s", "tenant").lower() if kind == "arm" else str(kind)
            wait, left = self._bucket(family, scope, limit).take()
            if wait > 0:
                retry = str(max(1, math.ceil(wait)))
                err = (
                    arm_error(429, "TooManyRequests", "Rate limit exceeded (emulator).")
                    if kind == "arm"
                    else dbx_error(429, "REQUEST_LIMIT_EXCEEDED", "Rate limit exceeded (emulator).")
                )
                return self._finish(route, 429, err.body, {"Retry-After": retry}, query)
            if kind == "arm":
                extra["x-ms-ratelimit-remaining-subscription-reads"] = str(int(left))
        try:
            parsed: Any = json.loads(body) if body else {}
        except json.JSONDecodeError:
            err = dbx_error(400, "MALFORMED_REQUEST", "body is not JSON")
            return self._finish(route, err.status, err.body, {}, query)
        req = _Request(kind, method, path, query, dict(multi), parsed, match)
        if isinstance(parsed, dict) and "experiment_ids" in parsed and isinstance(parsed["experiment_ids"], list):
            query = {**query, "experiment_ids#": _bucket_count(len(parsed["experiment_ids"]))}
            for key in ("max_results", "view_type", "run_view_type", "filter"):
                if key in parsed:
                    query[key] = "set" if key == "filter" else str(parsed[key])
        elif isinstance(parsed, dict):
            query = {**query, **{k: str(v) for k, v in parsed.items() if k in ("max_results", "view_type", "order_by")}}
            if parsed.get("filter"):
                query["filter"] = "set"
        try:
            payload = fn(req)
            status = 200
        except ApiError as exc:
            payload, status = exc.body, exc.status
            extra.update(exc.headers)
            if status in (400, 404) and exc.body.get("error", {}).get("code", exc.body.get("error_code")) in (
                "EmulatorUnsupported",
                "INVALID_PARAMETER_VALUE",
                "InvalidFilter",
            ):
                log.warning("emulator: %s %s -> %s %s", method, raw_path[:300], status, json.dumps(exc.body)[:300])
        return self._finish(route, status, payload, extra, query)

    def _finish(
        self, route: str, status: int, payload: Any, headers: dict[str, str], query: dict[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        data = json.dumps(payload, separators=(",", ":")).encode() if payload is not None else b""
        self.stats.record(route, status, query, len(data))
        return status, data, headers

    def _bucket(self, family: str, scope: str, limit: RateLimit) -> TokenBucket:
        key = (family, scope)
        with self._bucket_lock:
            b = self._buckets.get(key)
            if b is None:
                b = self._buckets[key] = TokenBucket(limit)
            return b

    def _route(self, kind: str | int, path: str) -> tuple[str, tuple[str, ...], Handler, dict[str, str]] | None:
        if kind == "arm":
            for pattern, route, methods, fn in self._arm_routes:
                m = pattern.match(path)
                if m:
                    return route, methods, fn, {k: v for k, v in m.groupdict().items() if v is not None}
            return None
        hit = self._dbx_routes.get(path.rstrip("/") or "/")
        if hit is None:
            return None
        route, methods, fn = hit
        return route, methods, fn, {}

    def _admin(self, method: str, path: str) -> tuple[int, Any, dict[str, str]]:
        if path == "/_emulator/stats":
            return 200, self.stats.snapshot(), {}
        if path == "/_emulator/reset" and method == "POST":
            self.reset()
            return 200, {"reset": True}, {}
        if path == "/_emulator/info":
            return 200, self.info(), {}
        return 404, {"error": "unknown admin path"}, {}

    # --- ARM ----------------------------------------------------------------------------

    def _arm_page(self, req: _Request, total: int, make: Callable[[int], Any]) -> dict[str, Any]:
        """One ARM page of `total` items (`make(i)` builds item i) with a `nextLink`."""
        offset = decode_token(
            req.query.get("$skipToken"), tag="arm", error=lambda m: arm_error(400, "InvalidSkipToken", m)
        )
        size = self.tenant.pages.arm
        end = min(total, offset + size)
        out: dict[str, Any] = {"value": [make(i) for i in range(offset, end)]}
        if end < total:
            q = [(k, v) for k, v in req.query.items() if k != "$skipToken"]
            q.append(("$skipToken", encode_token(end, "arm")))
            out["nextLink"] = f"{self.arm_url}{req.path}?{urlencode(q)}"
        return out

    def _sub_ok(self, sub: str) -> str:
        for s in self.tenant.subscriptions:
            if s.subscription_id.lower() == sub.lower():
                return s.subscription_id
        raise arm_error(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")

    def _subs(self, req: _Request) -> Any:
        subs = self.tenant.subscriptions
        return self._arm_page(req, len(subs), lambda i: self._subscription(subs[i].subscription_id))

    def _subscription(self, sub: str) -> dict[str, Any]:
        s = next(x for x in self.tenant.subscriptions if x.subscription_id == sub)
        return {
            "id": f"/subscriptions/{s.subscription_id}",
            "subscriptionId": s.subscription_id,
            "tenantId": self.tenant.tenant_id,
            "displayName": s.name,
            "state": "Enabled",
            "subscriptionPolicies": {
                "locationPlacementId": "Public_2014-09-01",
                "quotaId": "EnterpriseAgreement_2014-09-01",
                "spendingLimit": "Off",
            },
            "authorizationSource": "RoleBased",
            "managedByTenants": [],
            "tags": {},
        }

    def _sub_get(self, req: _Request) -> Any:
        return self._subscription(self._sub_ok(req.match["s"]))

    def _resources(self, req: _Request) -> Any:
        sub = self._sub_ok(req.match["s"])
        items = self.tenant.resources(sub)
        if "rg" in req.match:
            rg = req.match["rg"].lower()
            items = [x for x in items if x["id"].split("/")[4].lower() == rg]
        flt = req.query.get("$filter")
        if flt:
            types = re.findall(r"resourceType\s+eq\s+'([^']+)'", flt, _I)
            rest = re.sub(r"resourceType\s+eq\s+'[^']+'", "", flt, flags=_I)
            if not types or re.sub(r"\b(or|and)\b|[()\s]", "", rest, flags=_I):
                raise arm_error(400, "EmulatorUnsupported", f"unsupported $filter {flt!r} (emulator)")
            wanted = {t.lower() for t in types}
            items = [x for x in items if x["type"].lower() in wanted]
        return self._arm_page(req, len(items), lambda i: items[i])

    def _aml_ws_list(self, req: _Request) -> Any:
        sub = self._sub_ok(req.match["s"])
        rg = req.match.get("rg", "").lower()
        ws = [w for w in self.tenant.aml if w.sub == sub and (not rg or w.rg.lower() == rg)]
        return self._arm_page(req, len(ws), lambda i: self.tenant.aml_workspace(ws[i], self.arm_url))

    def _aml_ws(self, req: _Request) -> T.AmlWs:
        m = req.match
        arm_id = (
            f"/subscriptions/{m['s']}/resourceGroups/{m['rg']}/providers/"
            f"Microsoft.MachineLearningServices/workspaces/{m['w']}"
        )
        w = self.tenant.aml_by_id(arm_id)
        if w is None:
            raise arm_error(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.MachineLearningServices/workspaces/{m['w']}' under resource group "
                f"'{m['rg']}' was not found.",
            )
        return w

    def _aml_ws_get(self, req: _Request) -> Any:
        return self.tenant.aml_workspace(self._aml_ws(req), self.arm_url)

    def _aml_computes(self, req: _Request) -> Any:
        w = self._aml_ws(req)
        return self._arm_page(req, w.n_computes, lambda i: self.tenant.aml_compute(w, i))

    def _aml_compute_get(self, req: _Request) -> Any:
        w = self._aml_ws(req)
        for i in range(w.n_computes):
            if self.tenant.aml_compute_name(w, i).lower() == req.match["c"].lower():
                return self.tenant.aml_compute(w, i)
        raise arm_error(404, "ResourceNotFound", f"compute {req.match['c']} not found")

    def _aml_jobs(self, req: _Request) -> Any:
        w = self._aml_ws(req)
        for unsupported in ("jobType", "tag", "properties", "assetName", "scheduled", "scheduleId"):
            if req.query.get(unsupported):
                raise arm_error(400, "EmulatorUnsupported", f"jobs list parameter {unsupported} (emulator)")
        view = req.query.get("listViewType") or "ActiveOnly"
        if view not in ("ActiveOnly", "ArchivedOnly", "All"):
            raise arm_error(400, "InvalidListViewType", f"listViewType {view!r}")
        positions = self.tenant.aml_job_positions(w, view)
        return self._arm_page(req, len(positions), lambda i: self.tenant.aml_job(w, positions[i]))

    def _aml_job_get(self, req: _Request) -> Any:
        w = self._aml_ws(req)
        names = self._job_names.get(w.index)
        if names is None:
            names = {self.tenant.aml_job_name(w, i).lower(): i for i in range(w.n_jobs)}
            self._job_names[w.index] = names
        i = names.get(req.match["j"].lower())
        if i is None:
            raise arm_error(404, "UserError", f"job {req.match['j']} not found")
        return self.tenant.aml_job(w, i)

    def _dbx_ws_list(self, req: _Request) -> Any:
        sub = self._sub_ok(req.match["s"])
        rg = req.match.get("rg", "").lower()
        ws = [w for w in self.tenant.dbx if w.sub == sub and (not rg or w.rg.lower() == rg)]
        return self._arm_page(req, len(ws), lambda i: self.tenant.dbx_workspace(ws[i]))

    def _dbx_ws_get(self, req: _Request) -> Any:
        m = req.match
        arm_id = f"/subscriptions/{m['s']}/resourceGroups/{m['rg']}/providers/Microsoft.Databricks/workspaces/{m['w']}"
        d = self.tenant.dbx_by_id(arm_id)
        if d is None:
            raise arm_error(404, "ResourceNotFound", f"workspace {m['w']} not found")
        return self.tenant.dbx_workspace(d)

    def _registry(self, req: _Request) -> T.Registry:
        m = req.match
        arm_id = (
            f"/subscriptions/{m['s']}/resourceGroups/{m['rg']}"
            f"/providers/Microsoft.ContainerRegistry/registries/{m['r']}"
        )
        reg = self.tenant.registries.get(arm_id.lower())
        if reg is None or not reg.exists:
            raise arm_error(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.ContainerRegistry/registries/{m['r']}' under resource group "
                f"'{m['rg']}' was not found.",
            )
        return reg

    def _acr_get(self, req: _Request) -> Any:
        return self.tenant.registry(self._registry(req))

    def _acr_usages(self, req: _Request) -> Any:
        return self.tenant.registry_usages(self._registry(req))

    def _ra_list(self, req: _Request) -> Any:
        scope = req.match["scope"]
        flt = (req.query.get("$filter") or "").strip()
        at_only = False
        principal = None
        if flt:
            m = re.fullmatch(r"principalId\s+eq\s+'([^']+)'", flt, _I)
            if flt.lower() == "atscope()":
                at_only = True
            elif m:
                principal = m.group(1).lower()
            else:
                raise arm_error(400, "EmulatorUnsupported", f"unsupported $filter {flt!r} (emulator)")
        found = self.tenant.assignments_for_scope(scope, at_scope_only=at_only)
        if principal:
            found = [ra for ra in found if ra.principal_id.lower() == principal]
        return self._arm_page(req, len(found), lambda i: self.tenant.role_assignment(found[i]))

    def _rd_get(self, req: _Request) -> Any:
        rd = self.tenant.role_definition(req.match["id"], req.match["scope"])
        if rd is None:
            raise arm_error(
                404,
                "RoleDefinitionDoesNotExist",
                f"The specified role definition with ID '{req.match['id']}' does not exist.",
            )
        return rd

    def _rd_list(self, req: _Request) -> Any:
        scope = req.match["scope"]
        defs = [self.tenant.role_definition(g, scope) for g in self.tenant.role_defs]
        return self._arm_page(req, len(defs), lambda i: defs[i])

    def _discovery(self, req: _Request) -> Any:
        base = self.arm_url
        return {
            "api": base,
            "catalog": base,
            "experimentation": base,
            "gallery": base,
            "history": base,
            "hyperdrive": base,
            "labeling": base,
            "modelmanagement": base,
            "pipelines": base,
            "studio": "https://ml.azure.com",
        }

    def _metadata(self, req: _Request) -> Any:
        arm = self.arm_url + "/"
        return [
            {
                "portal": arm,
                "authentication": {
                    "loginEndpoint": "https://login.bench.invalid",
                    "audiences": [arm],
                    "tenant": "common",
                    "identityProvider": "AAD",
                },
                "media": arm,
                "graphAudience": arm,
                "graph": arm,
                "name": "MlgovBench",
                "suffixes": {
                    "azureDataLakeStoreFileSystem": "bench.invalid",
                    "acrLoginServer": "azurecr.io",
                    "sqlServerHostname": "bench.invalid",
                    "azureDataLakeAnalyticsCatalogAndJob": "bench.invalid",
                    "keyVaultDns": "vault.azure.net",
                    "storage": "core.windows.net",
                    "azureFrontDoorEndpointSuffix": "bench.invalid",
                },
                "batch": arm,
                "resourceManager": arm,
                "vmImageAliasDoc": arm,
                "activeDirectoryDataLake": arm,
                "sqlManagement": arm,
                "gallery": arm,
            }
        ]

    # --- Databricks ---------------------------------------------------------------------

    def _ws(self, req: _Request) -> DbxWs:
        assert isinstance(req.kind, int)
        return self.tenant.dbx[req.kind]

    def _dbx_config(self, req: _Request) -> Any:
        raise dbx_error(404, "ENDPOINT_NOT_FOUND", "No API found for 'GET /.well-known/databricks-config'")

    @staticmethod
    def _int(req: _Request, name: str, default: int | None = None) -> int | None:
        raw = req.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise dbx_error(400, "INVALID_PARAMETER_VALUE", f"{name} must be an integer, got {raw!r}") from None

    def _dbx_page(
        self,
        positions: Sequence[int],
        offset: int,
        size: int,
        tag: str,
        key: str,
        make: Callable[[int], Any],
        *,
        has_more: bool = False,
    ) -> dict[str, Any]:
        end = min(len(positions), offset + size)
        out: dict[str, Any] = {}
        chunk = [make(p) for p in positions[offset:end]]
        if chunk:
            out[key] = chunk
        if end < len(positions):
            out["next_page_token"] = encode_token(end, tag)
        if offset > 0:
            out["prev_page_token"] = encode_token(max(0, offset - size), tag)
        if has_more:
            out["has_more"] = end < len(positions)
        return out

    def _offset(self, req: _Request, tag: str, param: str = "page_token") -> int:
        return decode_token(req.query.get(param), tag=tag, error=lambda m: dbx_error(400, "INVALID_PARAMETER_VALUE", m))

    def _clusters(self, req: _Request) -> Any:
        d = self._ws(req)
        ps = self.tenant.pages
        size = self._int(req, "page_size", ps.dbx_clusters_default) or ps.dbx_clusters_default
        size = min(max(1, size), ps.dbx_clusters_max)
        if req.query.get("filter_by.policy_id"):
            raise dbx_error(400, "INVALID_PARAMETER_VALUE", "filter_by.policy_id is not supported by the emulator")
        pinned = req.query.get("filter_by.is_pinned")
        sources = {v.upper() for v in req.multi.get("filter_by.cluster_sources", [])}
        states = {v.upper() for v in req.multi.get("filter_by.cluster_states", [])}
        positions = [
            i
            for i in range(d.n_clusters)
            if (not sources or self.tenant.cluster_source(i) in sources)
            and (not states or self.tenant.cluster_state(d, i) in states)
            and (pinned is None or self.tenant.cluster_pinned(d, i) == _bool(pinned))
        ]
        offset = self._offset(req, "clusters")
        return self._dbx_page(positions, offset, size, "clusters", "clusters", lambda i: self.tenant.cluster(d, i))

    def _cluster_get(self, req: _Request) -> Any:
        d = self._ws(req)
        cid = req.query.get("cluster_id", "")
        for i in range(d.n_clusters):
            if self.tenant.cluster_id(d, i) == cid:
                return self.tenant.cluster(d, i)
        raise dbx_error(400, "INVALID_PARAMETER_VALUE", f"Cluster {cid} does not exist")

    def _jobs(self, req: _Request) -> Any:
        d = self._ws(req)
        ps = self.tenant.pages
        limit = self._int(req, "limit", ps.dbx_jobs_default)
        assert limit is not None
        if limit == 0:
            limit = ps.dbx_jobs_default
        if not 1 <= limit <= ps.dbx_jobs_max:
            raise dbx_error(400, "INVALID_PARAMETER_VALUE", f"limit must be between 1 and {ps.dbx_jobs_max}")
        expand = _bool(req.query.get("expand_tasks"))
        positions: Sequence[int] = range(d.n_jobs)
        name = req.query.get("name")
        if name:
            m = re.fullmatch(rf"etl-{d.index}-(\d{{5}})", name.strip(), _I)
            positions = [int(m.group(1))] if m and int(m.group(1)) < d.n_jobs else []
        offset = self._offset(req, "jobs") if "page_token" in req.query else self._int(req, "offset", 0) or 0
        size = ps.dbx_job_tasks

        def make(j: int) -> dict[str, Any]:
            job = self.tenant.dbx_job(d, j)
            s = job["settings"]
            if not expand:
                s.pop("tasks", None)
                s.pop("job_clusters", None)
                return job
            more = len(s["tasks"]) > size or len(s.get("job_clusters", [])) > size
            s["tasks"] = s["tasks"][:size]
            if "job_clusters" in s:
                s["job_clusters"] = s["job_clusters"][:size]
            job["has_more"] = more
            return job

        return self._dbx_page(positions, offset, limit, "jobs", "jobs", make, has_more=True)

    def _job_get(self, req: _Request) -> Any:
        d = self._ws(req)
        job_id = self._int(req, "job_id")
        j = self.tenant.dbx_job_index(d, job_id) if job_id is not None else None
        if j is None:
            raise dbx_error(400, "INVALID_PARAMETER_VALUE", f"Job {job_id} does not exist.")
        job = self.tenant.dbx_job(d, j)
        s = job["settings"]
        size = self.tenant.pages.dbx_job_tasks
        offset = self._offset(req, f"job{job_id}")
        tasks = s["tasks"]
        s["tasks"] = tasks[offset : offset + size]
        arrays = ("job_clusters", "parameters", "environments")
        for a in arrays:
            if a in s:
                s[a] = s[a] if offset == 0 else []
        if offset + size < len(tasks):
            job["next_page_token"] = encode_token(offset + size, f"job{job_id}")
        return job

    def _runs(self, req: _Request) -> Any:
        d = self._ws(req)
        ps = self.tenant.pages
        limit = self._int(req, "limit", ps.dbx_runs_default)
        assert limit is not None
        if limit == 0:
            limit = ps.dbx_runs_max
        if not 1 <= limit <= ps.dbx_runs_max:
            raise dbx_error(400, "INVALID_PARAMETER_VALUE", f"limit must be between 1 and {ps.dbx_runs_max}")
        active, completed = _bool(req.query.get("active_only")), _bool(req.query.get("completed_only"))
        if active and completed:
            raise dbx_error(400, "INVALID_PARAMETER_VALUE", "active_only and completed_only cannot both be true")
        run_type = req.query.get("run_type")
        positions = self.tenant.runs_positions(
            d,
            job_id=self._int(req, "job_id"),
            start_from=self._int(req, "start_time_from"),
            start_to=self._int(req, "start_time_to"),
            active_only=active,
        )
        if run_type and run_type != "JOB_RUN":
            positions = []
        expand = _bool(req.query.get("expand_tasks"))
        offset = self._offset(req, "runs") if "page_token" in req.query else self._int(req, "offset", 0) or 0
        return self._dbx_page(
            positions,
            offset,
            limit,
            "runs",
            "runs",
            lambda p: self.tenant.run(d, p, expand_tasks=expand),
            has_more=True,
        )

    def _run_get(self, req: _Request) -> Any:
        d = self._ws(req)
        run_id = self._int(req, "run_id")
        pos = self.tenant.run_position(d, run_id) if run_id is not None else None
        if pos is None:
            raise dbx_error(400, "INVALID_PARAMETER_VALUE", f"Run {run_id} does not exist.")
        return self.tenant.run(d, pos, expand_tasks=True)

    def _repos(self, req: _Request) -> Any:
        d = self._ws(req)
        prefix = req.query.get("path_prefix") or ""
        repos = [self.tenant.repo(d, i) for i in range(d.n_repos)]
        if prefix not in ("", "/", "/Workspace", "/Workspace/"):
            want = prefix.removeprefix("/Workspace")
            repos = [r for r in repos if r["path"].startswith(want)]
        offset = self._offset(req, "repos", "next_page_token")
        page = self._dbx_page(
            range(len(repos)), offset, self.tenant.pages.dbx_repos, "repos", "repos", lambda i: repos[i]
        )
        page.pop("prev_page_token", None)
        return page

    def _tokens(self, req: _Request) -> Any:
        d = self._ws(req)
        infos = [self.tenant.token(d, i) for i in range(d.n_tokens)]
        if req.query.get("created_by_id"):
            infos = [t for t in infos if str(t["created_by_id"]) == req.query["created_by_id"]]
        if req.query.get("created_by_username"):
            infos = [t for t in infos if t["created_by_username"] == req.query["created_by_username"]]
        return {"token_infos": infos} if infos else {}

    def _exp_search(self, req: _Request) -> Any:
        d = self._ws(req)
        body = req.body if isinstance(req.body, dict) else {}
        ps = self.tenant.pages
        size = int(body.get("max_results") or ps.mlflow_experiments_default)
        if not 1 <= size <= ps.mlflow_experiments_max:
            raise dbx_error(
                400, "INVALID_PARAMETER_VALUE", f"max_results must be between 1 and {ps.mlflow_experiments_max}"
            )
        if body.get("filter"):
            raise dbx_error(
                400, "INVALID_PARAMETER_VALUE", f"filter {body['filter']!r} is not supported by the emulator"
            )
        view = body.get("view_type") or "ACTIVE_ONLY"
        ix = self.tenant.experiment_index(d)
        if view == "ACTIVE_ONLY":
            positions = [i for i in range(d.n_experiments) if not ix.deleted[i]]
        elif view == "DELETED_ONLY":
            positions = [i for i in range(d.n_experiments) if ix.deleted[i]]
        elif view == "ALL":
            positions = list(range(d.n_experiments))
        else:
            raise dbx_error(400, "INVALID_PARAMETER_VALUE", f"view_type {view!r}")
        for clause in reversed(body.get("order_by") or []):
            m = re.fullmatch(r"\s*(last_update_time|creation_time|name|experiment_id)(?:\s+(ASC|DESC))?\s*", clause, _I)
            if not m:
                raise dbx_error(400, "INVALID_PARAMETER_VALUE", f"order_by {clause!r} is not supported")
            col, desc = m.group(1).lower(), (m.group(2) or "ASC").upper() == "DESC"
            keyf: Callable[[int], Any] = {
                "last_update_time": lambda i: ix.last_update[i],
                "creation_time": lambda i: ix.created[i],
                "name": lambda i: self.tenant.experiment(d, i)["name"],
                "experiment_id": lambda i: i,
            }[col]
            positions.sort(key=keyf, reverse=desc)
        offset = decode_token(
            body.get("page_token"), tag="exps", error=lambda m: dbx_error(400, "INVALID_PARAMETER_VALUE", m)
        )
        page = self._dbx_page(positions, offset, size, "exps", "experiments", lambda i: self.tenant.experiment(d, i))
        page.pop("prev_page_token", None)
        return page

    def _run_search(self, req: _Request) -> Any:
        d = self._ws(req)
        body = req.body if isinstance(req.body, dict) else {}
        ps = self.tenant.pages
        ids = body.get("experiment_ids") or []
        if not ids:
            raise dbx_error(400, "INVALID_PARAMETER_VALUE", "experiment_ids must not be empty")
        if len(ids) > ps.mlflow_run_search_experiment_ids:
            raise dbx_error(
                400,
                "INVALID_PARAMETER_VALUE",
                f"at most {ps.mlflow_run_search_experiment_ids} experiment_ids per search (emulator limit)",
            )
        size = int(body.get("max_results") or ps.mlflow_runs_default)
        if size < 1 or size > 50_000:
            raise dbx_error(400, "INVALID_PARAMETER_VALUE", "max_results must be between 1 and 50000")
        size = min(size, ps.mlflow_runs_max)
        runs: list[dict[str, Any]] = []
        for eid in ids:
            pos = self.tenant.experiment_position(d, str(eid))
            if pos is None:
                raise dbx_error(404, "RESOURCE_DOES_NOT_EXIST", f"Experiment {eid} does not exist")
            runs.extend(self.tenant.mlflow_runs(d, pos))
        runs = [r for r in runs if _run_filter(body.get("filter") or "")(r)]
        order = body.get("order_by") or ["attributes.start_time DESC"]
        for clause in reversed(order):
            m = re.fullmatch(r"\s*(?:attributes?\.)?(start_time|end_time)(?:\s+(ASC|DESC))?\s*", clause, _I)
            if not m:
                raise dbx_error(400, "INVALID_PARAMETER_VALUE", f"order_by {clause!r} is not supported by the emulator")
            col, desc = m.group(1).lower(), (m.group(2) or "ASC").upper() == "DESC"
            runs.sort(key=lambda r, c=col: r["info"][c], reverse=desc)
        offset = decode_token(
            body.get("page_token"), tag="runs", error=lambda m: dbx_error(400, "INVALID_PARAMETER_VALUE", m)
        )
        page = self._dbx_page(range(len(runs)), offset, size, "runs", "runs", lambda i: runs[i])
        page.pop("prev_page_token", None)
        return page


def _bucket_count(n: int) -> str:
    for edge in (1, 10, 50, 100):
        if n <= edge:
            return f"<={edge}"
    return ">100"


_CLAUSE = re.compile(r"^\s*(?:attributes?\.)?(start_time|end_time|status)\s*(>=|<=|=|!=|>|<)\s*('?)([^']*)\3\s*$", _I)


def _run_filter(text: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate for the subset of MLflow search syntax the emulator understands."""
    if not text.strip():
        return lambda r: True
    preds: list[Callable[[dict[str, Any]], bool]] = []
    for clause in re.split(r"\s+and\s+", text.strip(), flags=_I):
        m = _CLAUSE.match(clause)
        if not m:
            raise dbx_error(
                400, "INVALID_PARAMETER_VALUE", f"filter clause {clause!r} is not supported by the emulator"
            )
        col, op, _, raw = m.groups()
        col = col.lower()
        value: Any = raw if col == "status" else int(raw)
        ops: dict[str, Callable[[Any, Any], bool]] = {
            ">=": lambda a, b: a >= b,
            "<=": lambda a, b: a <= b,
            ">": lambda a, b: a > b,
            "<": lambda a, b: a < b,
            "=": lambda a, b: a == b,
            "!=": lambda a, b: a != b,
        }
        fn = ops[op]
        preds.append(lambda r, c=col, v=value, f=fn: f(r["info"][c], v))
    return lambda r: all(p(r) for p in preds)


# --- Child-process mode ---------------------------------------------------------------------


class EmulatorProcess:
    """The emulator in a child process (`python -m benchmarks.emulator serve`), same interface."""

    def __init__(
        self,
        preset: str,
        *,
        seed: int,
        now_ms: int,
        latency_ms: float = 0.0,
        limits: Limits | None = None,
        workdir: str | Path | None = None,
    ) -> None:
        self.args = {"preset": preset, "seed": seed, "now_ms": now_ms, "latency_ms": latency_ms}
        self.limits = limits if limits is not None else Limits()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.workdir = Path(workdir) if workdir else None
        self.proc: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}

    def start(self, timeout: float = 60.0) -> EmulatorProcess:
        """Start the child and wait until it listens."""
        if self.workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="mlgov-bench-emu-")
            self.workdir = Path(self._tmp.name)
        info_file = self.workdir / "emulator.json"
        cmd = [
            sys.executable,
            "-m",
            "benchmarks.emulator",
            "serve",
            "--preset",
            str(self.args["preset"]),
            "--seed",
            str(self.args["seed"]),
            "--now-ms",
            str(self.args["now_ms"]),
            "--latency-ms",
            str(self.args["latency_ms"]),
            "--limits",
            json.dumps(asdict(self.limits)),
            "--tls-dir",
            str(self.workdir / "tls"),
            "--info-file",
            str(info_file),
        ]
        root = Path(__file__).resolve().parent.parent
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
        self.proc = subprocess.Popen(cmd, cwd=root, env=env)
        deadline = time.monotonic() + timeout
        while not info_file.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"emulator exited with {self.proc.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError("emulator did not start")
            time.sleep(0.05)
        self.info = json.loads(info_file.read_text())
        return self

    @property
    def arm_url(self) -> str:
        """ARM base URL."""
        return str(self.info["arm_url"])

    @property
    def databricks_hosts(self) -> list[str]:
        """One `https://127.0.0.1:PORT` per Databricks workspace."""
        return list(self.info["databricks_hosts"])

    @property
    def ca_file(self) -> str:
        """The CA certificate clients must trust."""
        return str(self.info["ca_file"])

    def _admin(self, method: str, path: str) -> Any:
        import http.client

        ctx = ssl.create_default_context(cafile=self.ca_file)
        port = int(self.arm_url.rsplit(":", 1)[1])
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=60)
        try:
            conn.request(method, path, body=b"" if method == "POST" else None)
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()

    def stats(self) -> dict[str, Any]:
        """The child's counters."""
        return dict(self._admin("GET", "/_emulator/stats"))

    def reset(self) -> None:
        """Zero the counters and refill the rate-limit buckets."""
        self._admin("POST", "/_emulator/reset")

    def stop(self) -> None:
        """Terminate the child."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _limits_from_json(text: str) -> Limits:
    raw = json.loads(text)
    return Limits(**{k: RateLimit(**v) if v else None for k, v in raw.items()})


def main(argv: list[str] | None = None) -> int:
    """`python -m benchmarks.emulator serve ...`: serve until SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.emulator", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="serve a tenant until interrupted")
    s.add_argument("--preset", default="small", choices=sorted(T.PRESETS))
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--now-ms", type=int, default=None)
    s.add_argument("--latency-ms", type=float, default=0.0)
    s.add_argument("--limits", default=None, help="JSON of Limits (default: the realistic ones)")
    s.add_argument("--unlimited", action="store_true", help="no rate limits")
    s.add_argument("--tls-dir", default=None)
    s.add_argument("--info-file", default=None, help="write where it listens (JSON) here once ready")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    limits = Limits.unlimited() if args.unlimited else (_limits_from_json(args.limits) if args.limits else Limits())
    emu = Emulator(
        Tenant(args.preset, seed=args.seed, now_ms=args.now_ms),
        latency_ms=args.latency_ms,
        limits=limits,
        tls_dir=args.tls_dir,
    )
    emu.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    text = json.dumps(emu.info(), indent=2)
    if args.info_file:
        tmp = Path(args.info_file + ".tmp")
        tmp.write_text(text)
        tmp.replace(args.info_file)
    else:
        print(text, flush=True)
    stop.wait()
    with contextlib.suppress(Exception):
        emu.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
