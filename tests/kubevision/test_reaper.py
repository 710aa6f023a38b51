"""The reaper's hourly chore: Celery results past `result_expires`, and the bridge's records of
events older than a day, are removed."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select

from kubevision.clock import utcnow
from kubevision.context import AppContext
from kubevision.db.migrate import upgrade_database
from kubevision.db.schema import received_events
from kubevision.queue import create_celery
from kubevision.reaper import remove_expired_results
from kubevision.settings import Settings


def test_expired_celery_results_are_removed_and_fresh_ones_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    context = AppContext.create(settings)
    upgrade_database(context.engine)
    celery = create_celery(settings)
    celery.backend.mark_as_done("old-task", {"state": "done"})
    celery.backend.mark_as_done("new-task", {"state": "done"})
    old_file = next(settings.results_folder.glob("*old-task*"))
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old_file, (two_days_ago, two_days_ago))

    remove_expired_results(context, celery)
    context.close()

    assert not old_file.exists()
    assert celery.AsyncResult("new-task").result == {"state": "done"}


def test_received_events_older_than_a_day_are_forgotten(context: AppContext) -> None:
    now = utcnow()
    with context.engine.begin() as connection:
        for event_id, age in (("old-event", timedelta(days=2)), ("new-event", timedelta(0))):
            connection.execute(insert(received_events).values(
                source="/tests/reaper", event_id=event_id, type="test", task_id=None,
                received_at=now - age))

    remove_expired_results(context, create_celery(context.settings))

    with context.engine.connect() as connection:
        kept = connection.execute(select(received_events.c.event_id)
                                  .where(received_events.c.source == "/tests/reaper")).scalars()
        assert list(kept) == ["new-event"]
