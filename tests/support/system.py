"""Helpers the tests share: ports, running the system, waiting for tasks."""

from __future__ import annotations

import queue
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from kombu import Connection

from kubevision.queue import dead_letter_queue
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


def purge_queue(broker_url: str, queue: str) -> None:
    """Empty the processing queue left by an earlier run on the same RabbitMQ."""
    with Connection(broker_url) as connection:
        channel = connection.default_channel
        try:
            channel.queue_purge(queue)
        except Exception:  # noqa: BLE001 - the queue does not exist yet: nothing to purge
            pass


def delete_queues(settings: Settings) -> None:
    """Remove a test system's own queues from the shared RabbitMQ once it has stopped."""
    if settings.is_embedded:
        return
    with Connection(settings.resolved_broker_url) as connection:
        for queue in (settings.queue, dead_letter_queue(settings.queue)):
            connection.default_channel.queue_delete(queue)


def queued_messages(settings: Settings) -> int:
    """How many processing messages wait in the broker right now."""
    if settings.is_embedded:
        folder = settings.broker_folder / "queue"
        return sum(1 for path in folder.glob("*") if path.is_file()) if folder.exists() else 0
    with Connection(settings.resolved_broker_url) as connection:
        declared = connection.default_channel.queue_declare(settings.queue, passive=True)
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
        purge_queue(settings.resolved_broker_url, settings.queue)


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


@dataclass
class ServerSentEvent:
    event: str = "message"
    data: str = ""
    id: str | None = None
    comment: str | None = None


class EventStream:
    """Reads a text/event-stream on a thread; `next()` hands over each event or comment."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.headers = headers or {}
        self.status_code: int | None = None
        self.content_type = ""
        self._events: queue.Queue[ServerSentEvent] = queue.Queue()
        self._connected = threading.Event()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._client = httpx.Client(timeout=httpx.Timeout(10, read=None))

    def __enter__(self) -> EventStream:
        self._thread.start()
        if not self._connected.wait(10):
            raise AssertionError(f"no answer from {self.url} in 10 s")
        return self

    def __exit__(self, *_: object) -> None:
        self._closing.set()
        self._client.close()
        self._thread.join(5)

    def _read(self) -> None:
        try:
            self._read_events()
        except (httpx.HTTPError, RuntimeError):
            if not self._closing.is_set():
                raise
        finally:
            self._connected.set()

    def _read_events(self) -> None:
        with self._client.stream("GET", self.url, headers=self.headers) as response:
            self.status_code = response.status_code
            self.content_type = response.headers.get("content-type", "")
            self._connected.set()
            pending = ServerSentEvent()
            for line in response.iter_lines():
                if self._closing.is_set():
                    return
                if line == "":
                    if pending.data or pending.event != "message":
                        self._events.put(pending)
                    pending = ServerSentEvent()
                elif line.startswith(":"):
                    self._events.put(ServerSentEvent(event="", comment=line[1:].strip()))
                else:
                    name, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    if name == "data":
                        pending.data = f"{pending.data}\n{value}" if pending.data else value
                    elif name in ("event", "id"):
                        setattr(pending, name, value)

    def next(self, timeout_s: float = 10) -> ServerSentEvent:
        try:
            return self._events.get(timeout=timeout_s)
        except queue.Empty:
            raise AssertionError(f"no event from {self.url} in {timeout_s} s") from None

    def next_of(self, event: str, timeout_s: float = 10) -> ServerSentEvent:
        """The next event of this type, skipping others and comments."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = self.next(max(0.01, deadline - time.monotonic()))
            if found.event == event:
                return found


class RedisProcess:
    """A redis-server of the test's own on a free port, so it can be stopped and restarted
    without touching the shared one."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


def take_message(settings: Settings) -> bytes:
    """Remove one waiting processing message and return it whole, as the broker holds it
    (envelope, headers and body): what a test may search for bytes that do not belong."""
    if settings.is_embedded:
        folder = settings.broker_folder / "queue"
        path = min(folder.glob("*"), key=lambda item: item.stat().st_mtime)
        raw = path.read_bytes()
        path.unlink()
        return raw
    with Connection(settings.resolved_broker_url) as connection:
        message = connection.default_channel.basic_get(settings.queue, no_ack=True)
        assert message is not None, "no message waiting"
        body = message.body if isinstance(message.body, bytes) else message.body.encode()
        return repr(message.headers).encode() + body
