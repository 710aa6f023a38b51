"""The Celery worker process: registers the task and runs the consumer.

Run it with ``kubevision worker``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import Celery, Task
from celery.exceptions import Reject

from kubevision.inference.errors import InferenceError
from kubevision.inference.tasks import TASK_NAMES
from kubevision.logs import configure_logging
from kubevision.modelstore.errors import ModelStoreError
from kubevision.queue import PROCESS_TASK, create_celery, publish_process
from kubevision.reaper import ReaperThread
from kubevision.settings import Settings
from worker.health import serve_health
from worker.processing import ProcessingWorker

logger = logging.getLogger(__name__)


def create_worker_app(settings: Settings) -> tuple[Celery, ProcessingWorker]:
    """A Celery app with the processing task bound to one ProcessingWorker."""
    app = create_celery(settings)
    worker = ProcessingWorker(settings)
    amqp = settings.resolved_broker_url.startswith(("amqp", "pyamqp"))

    @app.task(name=PROCESS_TASK, bind=True)  # type: ignore[untyped-decorator]
    def process_image(self: Task, task_id: str) -> dict[str, Any]:
        outcome = worker.process(task_id)
        if outcome.get("retry"):
            # Back off before the next attempt; the attempt count bounds the retries.
            publish_process(app, task_id, countdown=min(2 ** outcome["attempt"], 60))
        elif outcome.get("state") == "failed" and amqp:
            # The message goes to the dead-letter queue instead of vanishing.
            raise Reject(f"task {task_id} failed for good: {outcome.get('code')}",
                         requeue=False)
        return outcome

    return app, worker


def readiness(worker: ProcessingWorker) -> dict[str, str]:
    checks = worker.context.check_ready(broker=True)
    if worker.startup_error is not None:
        checks["models"] = f"error: {worker.startup_error}"
    else:
        checks["models"] = worker.models.readiness()
    return checks


def describe(worker: ProcessingWorker) -> dict[str, object]:
    """What /readyz reports beside the checks: the provider in use, the loaded models, and
    why the worker could not start (null while it is starting or once it has)."""
    return {"worker": worker.name, "provider": worker.models.provider,
            "models": worker.models.describe(), "startup_error": worker.startup_error}


def run_worker(settings: Settings) -> None:
    """Load the models, start health and reaper threads, then consume until stopped."""
    configure_logging(settings.log_level)
    app, worker = create_worker_app(settings)
    if settings.worker_health_port:
        serve_health(settings.worker_health_host, settings.worker_health_port,
                     lambda: readiness(worker),
                     lambda: describe(worker),
                     lambda: {"cache": worker.context.cache.stats.snapshot()})
    try:
        worker.warm_up(settings.worker_models or list(TASK_NAMES))
    except (InferenceError, ModelStoreError) as exc:
        # Stay up and say why on /readyz: a GPU worker must not quietly run on CPU, and a
        # worker without its models must not take work.
        worker.startup_error = str(exc)
        logger.error("worker %s not ready: %s", worker.name, exc)
        threading.Event().wait()
    reaper = ReaperThread(worker.context, app, settings.task.reaper_interval_s)
    reaper.start()

    logger.info("worker %s consuming %s from %s", worker.name, settings.queue,
                app.connection_for_read().as_uri())
    app.worker_main(argv=[
        "worker", "--pool=threads", f"--concurrency={settings.worker_concurrency}",
        f"--queues={settings.queue}", f"--hostname=kubevision@{worker.name}", "--loglevel=INFO",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ])
    reaper.stop()
