"""Worker behaviour under failure: killed mid-task, undecodable images, duplicates."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from celery.result import AsyncResult
from sqlalchemy import select

from kubevision.context import AppContext
from kubevision.db.schema import status_events
from kubevision.db.tasks import get_task
from kubevision.events import PROCESS_REQUESTED, EventSender, make_event
from kubevision.local import LocalSystem
from kubevision.queue import publish_process
from kubevision.settings import Settings
from kubevision.storage import delete_image
from tests.conftest import make_settings
from tests.support.system import free_port, make_task, upload, wait_for_task
from worker.processing import ProcessingWorker


def _announce(system: LocalSystem, image_id: str, task_id: str) -> None:
    sender = EventSender(system.plan.bridge_url, timeout_s=10)
    sender.send(make_event(PROCESS_REQUESTED, source="/tests", subject=image_id,
                           data={"task_id": task_id, "image_id": image_id}))
    sender.close()


def test_task_of_a_killed_worker_completes_exactly_once(
    system_factory: Callable[..., LocalSystem], unique_jpeg: bytes
) -> None:
    system = system_factory(fault_task_delay_s="3", task__lease_s="2",
                            task__reaper_interval_s="0.5")
    with httpx.Client(base_url=system.plan.url("gateway"), timeout=30) as client:
        image = upload(client, unique_jpeg, "astronaut.jpg")
        task_id = client.post(f"/process/{image['id']}",
                              json={"tasks": ["classify"]}).json()["task_id"]
        wait_for_task(client, task_id, states=("processing",))

        worker = system.processes["worker"]
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        system.start_worker()
        task = wait_for_task(client, task_id)

    assert task["state"] == "done"
    assert task["attempts"] == 2
    assert [a["outcome"] for a in task["attempt_log"]] == ["lost", "done"]
    states = [entry["state"] for entry in task["history"]]
    assert states == ["queued", "processing", "queued", "processing", "done"]
    assert task["results"]["classify"]["items"]


def test_undecodable_image_fails_once_without_retry(
    system: LocalSystem, unique_jpeg: bytes
) -> None:
    # Upload refuses such bytes, so the record is made directly, as after a bad migration.
    context = AppContext.create(system.settings)
    image_id, task_id = make_task(context, b"\xff\xd8\xff\xe0 this is not really a JPEG")
    context.close()

    _announce(system, image_id, task_id)
    with httpx.Client(base_url=system.plan.url("gateway"), timeout=30) as client:
        task = wait_for_task(client, task_id)
        status = client.get(f"/status/{image_id}").json()

    assert task["state"] == "failed"
    assert task["error"]["code"] == "undecodable_image"
    assert task["attempts"] == 1
    assert status["status"] == "failed"


def test_duplicate_messages_run_the_task_once(system: LocalSystem, chelsea_png: bytes) -> None:
    context = AppContext.create(system.settings)
    image_id, task_id = make_task(context, chelsea_png)
    for _ in range(3):
        publish_process(context.celery, task_id)
    context.close()

    with httpx.Client(base_url=system.plan.url("gateway"), timeout=30) as client:
        task = wait_for_task(client, task_id)

    assert task["state"] == "done"
    assert task["attempts"] == 1
    assert [entry["state"] for entry in task["history"]].count("done") == 1


def test_the_celery_result_of_a_task_is_kept_in_the_result_backend(
    system: LocalSystem, unique_jpeg: bytes
) -> None:
    with httpx.Client(base_url=system.plan.url("gateway"), timeout=30) as client:
        image = upload(client, unique_jpeg, "a.jpg")
        task_id = client.post(f"/process/{image['id']}",
                              json={"tasks": ["classify"]}).json()["task_id"]
        wait_for_task(client, task_id)

    context = AppContext.create(system.settings)
    try:
        # Celery stores the result just after the worker records `done`: wait for it.
        outcome = AsyncResult(task_id, app=context.celery).get(timeout=20, interval=0.1)
    finally:
        context.close()

    assert outcome == {"task_id": task_id, "state": "done"}


def _worker_settings(session_dir: Path, service_urls: dict[str, str], model_dir: Path,
                     **overrides: object) -> Settings:
    # The worker's own settings on the session's database and blob folder.
    return make_settings(session_dir, service_urls, model_dir, **overrides)


def test_processing_succeeds_from_the_blob_store_when_redis_is_down(
    session_dir: Path, service_urls: dict[str, str], model_dir: Path, settings: Settings,
    unique_jpeg: bytes,
) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    worker = ProcessingWorker(_worker_settings(session_dir, service_urls, model_dir,
                                               redis_url=closed))
    image_id, task_id = make_task(worker.context, unique_jpeg)

    outcome = worker.process(task_id)

    assert outcome["state"] == "done", outcome
    assert worker.context.cache.stats.snapshot()["hits"] == 0
    with worker.context.engine.connect() as connection:
        task = get_task(connection, task_id)
    assert task is not None and task.results["classify"]["items"]
    worker.context.close()


def test_processing_of_an_image_deleted_mid_task_ends_quietly(
    session_dir: Path, service_urls: dict[str, str], model_dir: Path, unique_jpeg: bytes,
) -> None:
    worker = ProcessingWorker(_worker_settings(session_dir, service_urls, model_dir,
                                               fault_task_delay_s=1.0))
    image_id, task_id = make_task(worker.context, unique_jpeg)
    outcome: dict[str, object] = {}
    running = threading.Thread(target=lambda: outcome.update(worker.process(task_id)))
    running.start()
    time.sleep(0.3)

    assert delete_image(worker.context, image_id)
    running.join(30)

    assert outcome["state"] == "deleted"
    with worker.context.engine.connect() as connection:
        assert get_task(connection, task_id) is None
        left = connection.execute(select(status_events).where(
            status_events.c.image_id == image_id)).first()
    assert left is None, "the worker wrote history for a deleted image"
    worker.context.close()
