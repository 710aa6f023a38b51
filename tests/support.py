"""Helpers the tests share: ports, running the system, waiting for tasks."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from kombu import Connection

from kubevision.queue import QUEUE
from kubevision.settings import Settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def free_port_block(size: int) -> int:
    """The first of `size` consecutive free ports."""
    for _ in range(50):
        first = free_port()
        if first + size > 65535:
            continue
        try:
            probes = []
            for offset in range(size):
                probe = socket.socket()
                probes.append(probe)
                probe.bind(("127.0.0.1", first + offset))
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
        return first
    raise RuntimeError(f"no block of {size} free ports found")


def purge_queue(broker_url: str) -> None:
    """Empty the processing queue left by an earlier run on the same RabbitMQ."""
    with Connection(broker_url) as connection:
        channel = connection.default_channel
        try:
            channel.queue_purge(QUEUE)
        except Exception:  # noqa: BLE001 - the queue does not exist yet: nothing to purge
            pass


def queued_messages(settings: Settings) -> int:
    """How many processing messages wait in the broker right now."""
    if settings.is_embedded:
        folder = settings.broker_folder / "queue"
        return sum(1 for path in folder.glob("*") if path.is_file()) if folder.exists() else 0
    with Connection(settings.resolved_broker_url) as connection:
        declared = connection.default_channel.queue_declare(QUEUE, passive=True)
        return int(declared.message_count)


@contextmanager
def serve_in_thread(app: FastAPI, port: int) -> Iterator[str]:
    """Run an app with uvicorn on a real port for the duration of the block."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"server on port {port} did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def wait_for_task(client: httpx.Client, task_id: str, timeout_s: float = 120,
                  states: tuple[str, ...] = ("done", "failed")) -> dict[str, Any]:
    """Poll the task until it reaches one of `states`; fail the test on timeout."""
    deadline = time.monotonic() + timeout_s
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = client.get(f"/task/{task_id}")
        response.raise_for_status()
        last = response.json()
        if last["state"] in states:
            return last
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} still {last.get('state')} after {timeout_s} s: {last}")


def upload(client: httpx.Client, data: bytes, name: str = "photo.png") -> dict[str, Any]:
    response = client.post("/upload", files={"file": (name, data)})
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def read_log(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def clear_queue(settings: Settings) -> None:
    """Drop every waiting processing message, so a test counts only its own."""
    if settings.is_embedded:
        folder = settings.broker_folder / "queue"
        for path in folder.glob("*") if folder.exists() else []:
            path.unlink(missing_ok=True)
    else:
        purge_queue(settings.resolved_broker_url)


def make_task(context: Any, data: bytes, models: list[str] | None = None) -> tuple[str, str]:
    """Store an image and record a queued task for it, as the functions do; (image, task)."""
    from kubevision.blobs import content_key
    from kubevision.db.images import NewImage, insert_or_get_image
    from kubevision.db.tasks import TaskRequest, create_or_reuse_task
    from kubevision.ids import new_id

    sha256 = content_key(data)
    context.blobs.put(sha256, data)
    with context.engine.begin() as connection:
        image, _ = insert_or_get_image(connection, NewImage(
            sha256=sha256, filename="made.jpg", content_type="image/jpeg", format="JPEG",
            width=1, height=1, size_bytes=len(data)))
        task, _ = create_or_reuse_task(connection, TaskRequest(
            image_id=image.id, models=models or ["classify"], options={},
            fingerprint=new_id(), max_attempts=3), idempotency_key=None, force=False)
    return image.id, task.id
