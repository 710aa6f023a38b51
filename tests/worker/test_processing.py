"""Worker behaviour under failure: killed mid-task, undecodable images, duplicates."""

from __future__ import annotations

import signal
from collections.abc import Callable

import httpx

from kubevision.context import AppContext
from kubevision.events import PROCESS_REQUESTED, EventSender, make_event
from kubevision.local import LocalSystem
from tests.support import make_task, upload, wait_for_task


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
        context.celery.send_task("kubevision.process_image", args=[task_id], task_id=task_id,
                                 queue="kubevision.process")
    context.close()

    with httpx.Client(base_url=system.plan.url("gateway"), timeout=30) as client:
        task = wait_for_task(client, task_id)

    assert task["state"] == "done"
    assert task["attempts"] == 1
    assert [entry["state"] for entry in task["history"]].count("done") == 1
