"""Liveness and readiness of a worker over HTTP, for Kubernetes probes.

Celery has no HTTP server of its own; this one runs in a daemon thread beside it.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)


PATHS = ("/healthz", "/readyz", "/stats")


def serve_health(
    host: str, port: int, readiness: Callable[[], dict[str, str]],
    describe: Callable[[], dict[str, object]], stats: Callable[[], dict[str, object]],
) -> ThreadingHTTPServer:
    """Start answering /healthz, /readyz and /stats on the port; returns the running server."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            path = urlsplit(self.path).path
            if path == "/healthz":
                self._answer(200, {"status": "ok"})
            elif path == "/readyz":
                checks = readiness()
                ready = all(value == "ok" for value in checks.values())
                self._answer(200 if ready else 503,
                             {"status": "ready" if ready else "not_ready", "checks": checks,
                              **describe()})
            elif path == "/stats":
                self._answer(200, stats())
            else:
                self._answer(404, {"error": {
                    "code": "not_found",
                    "message": f"No endpoint {path!r} here; the worker serves {', '.join(PATHS)}.",
                    "details": {"paths": list(PATHS)}}})

        # HEAD answers as GET does, without the body (_answer leaves it out).
        do_HEAD = do_GET

        def _refuse_method(self) -> None:
            self._answer(405, {"error": {
                "code": "method_not_allowed",
                "message": f"{self.command} is not allowed; the worker's endpoints take GET "
                           "and HEAD.",
                "details": {"allowed": ["GET", "HEAD"]}}}, {"Allow": "GET, HEAD"})

        do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse_method

        def _answer(self, status: int, body: dict[str, object],
                    headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(raw)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="worker-health", daemon=True).start()
    logger.info("worker health on port %d", server.server_address[1])
    return server
