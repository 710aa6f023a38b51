"""Finds work that was lost and queues it again.

Local transports cannot redeliver the message of a killed worker, and a RabbitMQ redelivery
can arrive while the dead worker's lease still looks alive. So the task record is the source
of truth: a `processing` task whose lease ran out goes back to the queue (or fails once its
attempts are spent), and a `queued` task whose message was never sent, or was sent long ago
and never taken, is published again. Duplicates are harmless: only one worker can claim.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from celery import Celery
from kombu.exceptions import OperationalError

from kubevision.clock import utcnow
from kubevision.context import AppContext
from kubevision.db.received_events import forget_received_events
from kubevision.db.tasks import expired_leases, mark_dispatched, release_expired, stale_queued
from kubevision.queue import publish_process

logger = logging.getLogger(__name__)

# A task announced by the process function reaches the queue within milliseconds; one that is
# still undispatched after this long lost its event on the way.
UNDISPATCHED_GRACE = timedelta(seconds=15)
# Celery results live a day (`result_expires`); Redis drops them by itself, the file and
# database back ends only when asked. The bridge's record of events it has queued is kept
# as long: the Broker's retries of one event end within minutes.
RESULTS_CLEANUP_INTERVAL_S = 3600.0
RECEIVED_EVENTS_KEPT = timedelta(days=1)


@dataclass
class ReapReport:
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    republished: list[str] = field(default_factory=list)


def reap_once(context: AppContext, celery: Celery) -> ReapReport:
    """One pass over the task table; returns what it changed."""
    report = ReapReport()
    now = utcnow()
    with context.engine.begin() as connection:
        for task in expired_leases(connection, now):
            state = release_expired(connection, task, now)
            if state == "queued":
                report.requeued.append(task.id)
            elif state == "failed":
                report.failed.append(task.id)
        stale = stale_queued(
            connection, undispatched_before=now - UNDISPATCHED_GRACE,
            dispatched_before=now - timedelta(seconds=context.settings.task.requeue_after_s),
        )
        report.republished.extend(task.id for task in stale)

    for task_id in report.requeued + report.republished:
        try:
            publish_process(celery, task_id)
        except (OperationalError, OSError) as exc:
            logger.warning("task %s not republished, next pass will retry: %s", task_id, exc)
            continue
        with context.engine.begin() as connection:
            mark_dispatched(connection, task_id)
    for task_id in report.requeued:
        logger.warning("task %s lost its worker and was queued again", task_id)
    for task_id in report.failed:
        logger.error("task %s lost its worker on its last attempt and failed", task_id)
    return report


def remove_expired_results(context: AppContext, celery: Celery) -> None:
    """Delete Celery results older than `result_expires` from back ends that keep them, and
    the bridge's records of events older than :data:`RECEIVED_EVENTS_KEPT`."""
    celery.backend.cleanup()
    with context.engine.begin() as connection:
        forgotten = forget_received_events(connection, utcnow() - RECEIVED_EVENTS_KEPT)
    if forgotten:
        logger.info("forgot %d received events older than %s", forgotten, RECEIVED_EVENTS_KEPT)


class ReaperThread(threading.Thread):
    """Runs :func:`reap_once` every interval, and :func:`remove_expired_results` every hour,
    until stopped."""

    def __init__(self, context: AppContext, celery: Celery, interval_s: float) -> None:
        super().__init__(name="kubevision-reaper", daemon=True)
        self.context = context
        self.celery = celery
        self.interval_s = interval_s
        self._stop_event = threading.Event()

    def run(self) -> None:
        cleaned_at = time.monotonic()
        while not self._stop_event.wait(self.interval_s):
            try:
                reap_once(self.context, self.celery)
            except Exception:
                logger.exception("reaper pass failed; trying again in %.1f s", self.interval_s)
            if time.monotonic() - cleaned_at < RESULTS_CLEANUP_INTERVAL_S:
                continue
            cleaned_at = time.monotonic()
            try:
                remove_expired_results(self.context, self.celery)
            except Exception:
                logger.exception("expired Celery results not removed; trying again in an hour")

    def stop(self) -> None:
        self._stop_event.set()
