"""The service's small HTTP endpoint: `/healthz`, `/readyz` and `/metrics`.

A stdlib `ThreadingHTTPServer` in a daemon thread. Liveness never depends on Azure or
Databricks being reachable (a restart would not fix them); it says the process answers and its
scheduler runs. Readiness says the service has started and is not shutting down, and reports
the last run.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mlgov.logs import get_logger
from mlgov.service.metrics import PROMETHEUS_CONTENT_TYPE

log = get_logger(__name__)


class Probe:
    """What the endpoints ask the service: three callables, so tests can drive them."""

    def __init__(
        self,
        healthy: Callable[[], tuple[bool, dict[str, Any]]],
        ready: Callable[[], tuple[bool, dict[str, Any]]],
        metrics: Callable[[], str],
    ) -> None:
        self.healthy = healthy
        self.ready = ready
        self.metrics = metrics


def _handler_class(probe: Probe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "mlgov"
        sys_version = ""

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/") or "/"
            if path == "/healthz":
                self._json(*probe.healthy())
            elif path == "/readyz":
                self._json(*probe.ready())
            elif path == "/metrics":
                self._send(200, PROMETHEUS_CONTENT_TYPE, probe.metrics().encode("utf-8"))
            else:
                self._send(404, "text/plain; charset=utf-8", b"not found: try /healthz, /readyz, /metrics\n")

        def _json(self, ok: bool, body: dict[str, Any]) -> None:
            payload = json.dumps(body, indent=2, sort_keys=True).encode("utf-8") + b"\n"
            self._send(200 if ok else 503, "application/json", payload)

        def _send(self, code: int, content_type: str, payload: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("http.request", client=self.client_address[0], line=format % args)

    return Handler


class HealthServer:
    """Serves the probe endpoints on `host:port` (port 0 picks a free one) until `stop()`."""

    def __init__(self, probe: Probe, host: str, port: int) -> None:
        self._server = ThreadingHTTPServer((host, port), _handler_class(probe))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.25}, name="mlgov-http", daemon=True
        )

    @property
    def address(self) -> tuple[str, int]:
        """The bound host and port."""
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        """Start answering in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop answering and close the socket."""
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()


__all__ = ["HealthServer", "Probe"]
