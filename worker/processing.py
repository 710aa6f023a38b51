"""What a worker does with one task: claim it, fetch the image, run the models, record.

Models are loaded once per process when the worker starts and kept warm. A worker holds a
lease on the task it runs and renews it from a side thread, so that a dead worker's task is
noticed by the reaper and given to another; every write names the lease.
"""

from __future__ import annotations

import io
import logging
import os
import socket
import threading
import time
from datetime import datetime
from typing import Any

from billiard.exceptions import SoftTimeLimitExceeded
from PIL import Image

from kubevision.clock import utcnow
from kubevision.context import AppContext
from kubevision.db.tasks import Lease, claim_task, fail_attempt, finish_task, get_task, renew_lease
from kubevision.events import IMAGE_FAILED, IMAGE_PROCESSED, make_event
from kubevision.inference.normalize import to_upright_rgb
from kubevision.inference.registry import ModelSet
from kubevision.inference.results import TaskOptions
from kubevision.live import publish_status
from kubevision.modelstore.store import ModelStore
from kubevision.settings import Settings
from worker.fetch import ImageDeleted, PermanentFailure, fetch_image_bytes

logger = logging.getLogger(__name__)

SOURCE = "/kubevision/worker"


class LeaseKeeper(threading.Thread):
    """Renews a lease every third of its length until stopped or lost."""

    def __init__(self, context: AppContext, lease: Lease, lease_s: float) -> None:
        super().__init__(name=f"lease-{lease.task_id}", daemon=True)
        self.context = context
        self.lease = lease
        self.lease_s = lease_s
        self._stop_event = threading.Event()
        self.lost = False

    def run(self) -> None:
        while not self._stop_event.wait(self.lease_s / 3):
            try:
                with self.context.engine.begin() as connection:
                    held = renew_lease(connection, self.lease, self.lease_s)
            except Exception:
                logger.exception("lease renewal for task %s failed", self.lease.task_id)
                continue
            if not held:
                self.lost = True
                logger.warning("task %s: lease lost to another worker", self.lease.task_id)
                return

    def stop(self) -> None:
        self._stop_event.set()


class ProcessingWorker:
    """One worker process: its resources, its warm models, and the task handler."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.context = AppContext.create(settings)
        self.models = ModelSet(ModelStore(settings.resolved_model_dir), settings)
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.startup_error: str | None = None

    def warm_up(self, tasks: list[str]) -> None:
        """Load the models now, so the first task does not pay for it."""
        started = time.perf_counter()
        self.models.load(tasks)
        logger.info("worker %s: models %s ready in %.1f s (%s)", self.name, tasks,
                    time.perf_counter() - started, self.models.describe())

    def process(self, task_id: str) -> dict[str, Any]:
        """Run one task; returns the Celery result (a summary, never the image)."""
        with self.context.engine.begin() as connection:
            lease = claim_task(connection, task_id, worker=self.name,
                               lease_s=self.settings.task.lease_s)
        if lease is None:
            return self._not_claimed(task_id)
        publish_status(self.context.cache.client, lease.image_id, task_id, "processing")

        keeper = LeaseKeeper(self.context, lease, self.settings.task.lease_s)
        keeper.start()
        started = utcnow()
        try:
            outcome = self._run(lease, started)
        finally:
            keeper.stop()
        return outcome

    def _run(self, lease: Lease, started: datetime) -> dict[str, Any]:
        try:
            if self.settings.fault_task_delay_s:
                time.sleep(self.settings.fault_task_delay_s)
            image = self._load_image(lease.image_id)
            options = {name: TaskOptions(**opts) for name, opts in lease.options.items()}
            results = self.models.run(image, list(lease.models), options)
        except ImageDeleted:
            return self._deleted(lease)
        except PermanentFailure as exc:
            return self._fail(lease, exc.code, exc.message, permanent=True, started=started)
        except SoftTimeLimitExceeded:
            return self._fail(lease, "time_limit",
                              f"the task ran past {self.settings.task.time_limit_s} s",
                              permanent=False, started=started)
        except Exception as exc:
            if self._task_deleted(lease):
                return self._deleted(lease)
            logger.exception("task %s attempt %d failed", lease.task_id, lease.attempt)
            return self._fail(lease, "processing_error", f"{type(exc).__name__}: {exc}",
                              permanent=False, started=started)

        payload = {name: result.model_dump() for name, result in results.items()}
        provider = self.models.provider
        with self.context.engine.begin() as connection:
            kept = finish_task(connection, lease, results=payload, provider=provider,
                               started=started)
        if not kept and self._task_deleted(lease):
            return self._deleted(lease)
        if not kept:
            logger.warning("task %s finished after losing its lease; result dropped",
                           lease.task_id)
            return {"task_id": lease.task_id, "state": "superseded"}
        publish_status(self.context.cache.client, lease.image_id, lease.task_id, "done")
        self.context.events.send_best_effort(make_event(
            IMAGE_PROCESSED, source=SOURCE, subject=lease.image_id,
            data={"task_id": lease.task_id, "image_id": lease.image_id}))
        logger.info("task %s done on attempt %d (%s)", lease.task_id, lease.attempt, provider)
        return {"task_id": lease.task_id, "state": "done"}

    def _load_image(self, image_id: str) -> Image.Image:
        data = fetch_image_bytes(self.context, image_id)
        try:
            decoded = Image.open(io.BytesIO(data))
            if decoded.width * decoded.height > self.settings.limits.max_pixels:
                raise PermanentFailure("too_many_pixels",
                                       f"{decoded.width}x{decoded.height} exceeds the limit")
            upright: Image.Image = to_upright_rgb(decoded)
            return upright
        except PermanentFailure:
            raise
        except (OSError, SyntaxError, ValueError) as exc:
            raise PermanentFailure("undecodable_image",
                                   f"the image cannot be decoded: {exc}") from exc

    def _task_deleted(self, lease: Lease) -> bool:
        with self.context.engine.connect() as connection:
            return get_task(connection, lease.task_id) is None

    def _deleted(self, lease: Lease) -> dict[str, Any]:
        # Deleting an image deletes its tasks: there is no record left to write, and nothing
        # went wrong, so the message is acknowledged without a retry or a dead letter.
        logger.info("task %s ended: image %s was deleted", lease.task_id, lease.image_id)
        return {"task_id": lease.task_id, "state": "deleted"}

    def _fail(self, lease: Lease, code: str, message: str, *, permanent: bool,
              started: datetime) -> dict[str, Any]:
        with self.context.engine.begin() as connection:
            state = fail_attempt(connection, lease, code=code, message=message,
                                 permanent=permanent, started=started)
        if state is None:
            return {"task_id": lease.task_id, "state": "superseded"}
        publish_status(self.context.cache.client, lease.image_id, lease.task_id, state)
        if state == "failed":
            logger.error("task %s failed for good: %s: %s", lease.task_id, code, message)
            self.context.events.send_best_effort(make_event(
                IMAGE_FAILED, source=SOURCE, subject=lease.image_id,
                data={"task_id": lease.task_id, "image_id": lease.image_id, "code": code}))
        return {"task_id": lease.task_id, "state": state, "retry": state == "queued",
                "attempt": lease.attempt, "code": code}

    def _not_claimed(self, task_id: str) -> dict[str, Any]:
        with self.context.engine.connect() as connection:
            task = get_task(connection, task_id)
        if task is None:
            logger.warning("task %s does not exist; message dropped", task_id)
            return {"task_id": task_id, "state": "unknown"}
        # Finished, or held by a live worker: the reaper covers the latter if it dies.
        logger.info("task %s not claimed: it is %s", task_id, task.state)
        return {"task_id": task_id, "state": task.state, "duplicate": True}
