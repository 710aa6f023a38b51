"""`kubevision up`: the whole system on one machine, each part in its own process.

Combined mode serves the three functions on one port, like the cluster's single public host;
split mode (`--split`) gives each function its own port, so events travel between processes
exactly as they do through the Broker. Either way the bridge and the worker are processes of
their own, and the functions reach the bridge through K_SINK.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from kubevision.context import AppContext
from kubevision.db.migrate import upgrade_database
from kubevision.settings import Settings

logger = logging.getLogger(__name__)

SERVICES = ("upload", "process", "status", "bridge")


class StartError(RuntimeError):
    """The system cannot start, for a reason waiting will not change."""


@dataclass
class Plan:
    """Which processes to start, on which ports."""

    host: str
    ports: dict[str, int]
    worker_health_port: int

    @property
    def bridge_url(self) -> str:
        return f"http://{self.host}:{self.ports['bridge']}/"

    def url(self, service: str) -> str:
        return f"http://{self.host}:{self.ports[service]}"


def plan(host: str, port: int, split: bool, worker_health_port: int) -> Plan:
    if split:
        ports = {name: port + 1 + index for index, name in enumerate(SERVICES)}
    else:
        ports = {"gateway": port, "bridge": port + 1}
    return Plan(host=host, ports=ports, worker_health_port=worker_health_port)


@dataclass
class LocalSystem:
    """The started processes; stop() ends them all."""

    plan: Plan
    settings: Settings
    env: dict[str, str]
    log_dir: Path | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start_worker(self, name: str = "worker") -> subprocess.Popen[bytes]:
        """Start one more worker process (or replace a dead one under the same name)."""
        self.processes[name] = spawn(name, ["worker"], self.env, self.plan, self.log_dir)
        return self.processes[name]

    def stop(self, timeout_s: float = 10.0) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def wait_ready(self, timeout_s: float, stopping: Callable[[], bool] = lambda: False) -> None:
        """Block until every service answers /readyz; raise naming the one that did not.
        Returns early, not ready, once `stopping()` says so."""
        targets = {name: f"{self.plan.url(name)}/readyz" for name in self.plan.ports}
        targets["worker"] = f"http://{self.plan.host}:{self.plan.worker_health_port}/readyz"
        deadline = time.monotonic() + timeout_s
        for name, url in targets.items():
            while not stopping():
                self._check_alive()
                try:
                    answer = httpx.get(url, timeout=2)
                except httpx.HTTPError:
                    answer = None
                if answer is not None and answer.status_code == 200:
                    break
                if answer is not None and name == "worker":
                    _raise_on_startup_error(answer)
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} not ready at {url} after {timeout_s} s")
                time.sleep(0.2)

    def _check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with code {process.returncode}")


def _raise_on_startup_error(answer: httpx.Response) -> None:
    # The worker loads its models once, at start: a failure there stays until it is fixed.
    try:
        reason = answer.json().get("startup_error")
    except ValueError:
        return
    if reason:
        raise StartError(f"worker cannot start: {reason}")


def check_ports_free(system_plan: Plan) -> None:
    """Raise StartError naming the first port of the plan that something else listens on.

    Without this, a second system on the same ports would find the first one's services
    answering and report itself ready.
    """
    ports = {**system_plan.ports, "worker health": system_plan.worker_health_port}
    for name, port in ports.items():
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((system_plan.host, port))
            except OSError as exc:
                raise StartError(f"port {port} on {system_plan.host} ({name}) is not free: "
                                 f"{exc.strerror}; choose others with --port and "
                                 "--worker-health-port") from exc


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a child process the same stores as these settings."""
    env = {"KV_DATA_DIR": str(settings.data_dir.resolve()),
           "KV_MODEL_DIR": str(settings.resolved_model_dir),
           "KV_BLOB__DIR": str(settings.resolved_blob_dir), "KV_QUEUE": settings.queue}
    for name in ("database_url", "redis_url", "broker_url", "result_backend_url"):
        value = getattr(settings, name)
        if value is not None:
            env[f"KV_{name.upper()}"] = value
    return env


def start(settings: Settings, system_plan: Plan, log_dir: Path | None = None,
          extra_env: dict[str, str] | None = None) -> LocalSystem:
    """Migrate the database, then start the services, the bridge and one worker."""
    check_ports_free(system_plan)
    context = AppContext.create(settings)
    upgrade_database(context.engine)
    context.close()

    base_env = {**os.environ, **settings_env(settings), **(extra_env or {})}
    # The worker shares these CPUs with the functions and the bridge: its inference threads
    # must sleep between runs rather than spin (unless the caller says otherwise).
    base_env.setdefault("KV_ORT_SPIN_WAIT", "false")
    base_env["K_SINK"] = system_plan.bridge_url
    system = LocalSystem(plan=system_plan, settings=settings, env=base_env, log_dir=log_dir)
    commands = {name: ["serve", name, "--host", system_plan.host, "--port", str(port)]
                for name, port in system_plan.ports.items()}
    commands["worker"] = ["worker"]

    for name, args in commands.items():
        system.processes[name] = spawn(name, args, base_env, system_plan, log_dir)
    return system


def spawn(name: str, args: list[str], env: dict[str, str], system_plan: Plan,
          log_dir: Path | None) -> subprocess.Popen[bytes]:
    """Start one part of the system as `python -m kubevision ARGS`."""
    env = dict(env, KV_WORKER_HEALTH_PORT=str(system_plan.worker_health_port),
               KV_WORKER_HEALTH_HOST=system_plan.host)
    if name.startswith("worker"):
        # The worker's processed/failed events have no consumer on one machine.
        env.pop("K_SINK", None)
    output = None
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        output = open(log_dir / f"{name}.log", "ab")  # noqa: SIM115 - lives with the child
    return subprocess.Popen([sys.executable, "-m", "kubevision", *args], env=env, stdout=output,
                            stderr=subprocess.STDOUT if output else None)
