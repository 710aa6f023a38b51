"""The reaper's hourly chore: Celery results past `result_expires` are removed."""

from __future__ import annotations

import os
import time
from pathlib import Path

from kubevision.queue import create_celery
from kubevision.reaper import remove_expired_results
from kubevision.settings import Settings


def test_expired_celery_results_are_removed_and_fresh_ones_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    celery = create_celery(settings)
    celery.backend.mark_as_done("old-task", {"state": "done"})
    celery.backend.mark_as_done("new-task", {"state": "done"})
    old_file = next(settings.results_folder.glob("*old-task*"))
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old_file, (two_days_ago, two_days_ago))

    remove_expired_results(celery)

    assert not old_file.exists()
    assert celery.AsyncResult("new-task").result == {"state": "done"}
