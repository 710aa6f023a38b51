"""The Celery application shared by the bridge (which publishes) and the worker (which runs).

Tasks carry ids only, never image bytes. With RabbitMQ, publishing waits for the broker's
confirm, and a message whose task is given up is dead-lettered to ``kubevision.dead``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from celery import Celery
from kombu import Exchange, Queue

from kubevision.fsqueue import TRANSPORT
from kubevision.settings import Settings

logger = logging.getLogger(__name__)

PROCESS_TASK = "kubevision.process_image"


def dead_letter_queue(queue: str) -> str:
    return f"{queue}.dead"


def _queues(settings: Settings) -> list[Queue]:
    queue = settings.queue
    if not settings.resolved_broker_url.startswith(("amqp", "pyamqp")):
        return [Queue(queue, routing_key=queue)]
    dead = dead_letter_queue(queue)
    return [
        Queue(queue, Exchange(queue, type="direct"), routing_key=queue,
              queue_arguments={"x-dead-letter-exchange": dead,
                               "x-dead-letter-routing-key": dead}),
        Queue(dead, Exchange(dead, type="direct"), routing_key=dead),
    ]


def _transport_options(settings: Settings) -> dict[str, object]:
    if settings.is_embedded:
        folder = settings.broker_folder
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        return {"data_folder_in": str(folder / "queue"), "data_folder_out": str(folder / "queue"),
                "processed_folder": str(folder / "processed"), "store_processed": False,
                "control_folder": str(folder / "control"),
                # Short polls keep the embedded queue's latency near RabbitMQ's; listing a
                # nearly empty folder every 2 ms costs well under 1 % of a core.
                "polling_interval": 0.002}
    if settings.resolved_broker_url.startswith(("amqp", "pyamqp")):
        return {"confirm_publish": True}
    return {}


def create_celery(settings: Settings) -> Celery:
    """A Celery app configured from the settings; no tasks are registered here."""
    backend = settings.resolved_result_backend_url
    if backend.startswith("file://"):
        # Celery's file back end refuses a folder that does not exist yet.
        Path(backend.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
    app = Celery("kubevision", broker=settings.resolved_broker_url, backend=backend)
    app.conf.update(
        task_default_queue=settings.queue,
        task_queues=_queues(settings),
        task_routes={PROCESS_TASK: {"queue": settings.queue, "routing_key": settings.queue}},
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        # Acknowledge after the work, and give a dead worker's message back to the queue.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=settings.task.time_limit_s,
        task_time_limit=settings.task.time_limit_s + 15,
        result_expires=24 * 3600,
        # The bridge publishes from a pool of threads; a backend per thread (Celery's default)
        # means building one again in every new thread, a few milliseconds per publish.
        result_backend_thread_safe=True,
        broker_transport_options=_transport_options(settings),
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=5,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
    )
    if settings.is_embedded:
        app.conf.broker_transport = TRANSPORT
    return app


def publish_process(app: Celery, task_id: str, countdown: float | None = None) -> None:
    """Publish the processing task; returns once the broker has taken (and confirmed) it."""
    app.send_task(
        PROCESS_TASK, args=[task_id], task_id=task_id,
        countdown=countdown,
        retry=True, retry_policy={"max_retries": 2, "interval_start": 0.2,
                                  "interval_step": 0.5, "interval_max": 1},
    )
