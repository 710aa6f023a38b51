"""docker/healthcheck.py, the images' HEALTHCHECK, passes on 2xx and fails otherwise."""

from __future__ import annotations

import http.server
import importlib.util
import threading
from collections.abc import Iterator
from types import ModuleType

import pytest

from .manifests import REPO_ROOT


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "healthcheck", REPO_ROOT / "docker" / "healthcheck.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 503)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_healthcheck_passes_on_port_from_variable(
    server_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PORT", str(server_port))

    assert _load().check("PORT", "1") == 0


def test_healthcheck_fails_on_error_status(server_port: int) -> None:
    assert _load().check("KV_UNSET_PORT_VARIABLE", str(server_port), path="/readyz") == 1


def test_healthcheck_fails_when_nothing_listens(server_port: int) -> None:
    assert _load().check("KV_UNSET_PORT_VARIABLE", "1") == 1
