"""Database rows turned into the public API shapes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row

from kubevision.clock import iso
from kubevision.db.tasks import list_attempts, list_status_events
from kubevision.schemas import (
    AttemptPublic,
    HistoryEntry,
    ImagePublic,
    TaskError,
    TaskPublic,
    TaskSummary,
)


def image_links(image_id: str) -> dict[str, str]:
    return {"self": f"/status/{image_id}", "content": f"/image/{image_id}",
            "process": f"/process/{image_id}"}


def task_links(task: Row[Any]) -> dict[str, str]:
    return {"self": f"/task/{task.id}", "status": f"/status/{task.image_id}",
            "image": f"/image/{task.image_id}"}


def image_public(row: Row[Any]) -> ImagePublic:
    return ImagePublic(
        id=row.id, sha256=row.sha256, filename=row.filename, content_type=row.content_type,
        format=row.format, width=row.width, height=row.height, size_bytes=row.size_bytes,
        status=row.status, latest_task_id=row.latest_task_id, created_at=iso(row.created_at) or "",
        updated_at=iso(row.updated_at) or "", links=image_links(row.id),
    )


def _error(task: Row[Any]) -> TaskError | None:
    return TaskError(**task.error) if task.error else None


def task_summary(task: Row[Any]) -> TaskSummary:
    return TaskSummary(id=task.id, state=task.state, models=task.models, attempts=task.attempts,
                       created_at=iso(task.created_at), finished_at=iso(task.finished_at),
                       error=_error(task))


def _ms_between(start: Any, end: Any) -> float | None:
    if start is None or end is None:
        return None
    return round(float((end - start).total_seconds()) * 1000, 3)


def task_public(connection: Connection, task: Row[Any]) -> TaskPublic:
    attempts = [
        AttemptPublic(number=a.number, worker=a.worker, started_at=iso(a.started_at),
                      ended_at=iso(a.ended_at), outcome=a.outcome, error=a.error,
                      duration_ms=a.duration_ms)
        for a in list_attempts(connection, task.id)
    ]
    history = [HistoryEntry(state=e.state, at=iso(e.at), detail=e.detail)
               for e in list_status_events(connection, task.id)]
    return TaskPublic(
        id=task.id, image_id=task.image_id, state=task.state, models=task.models,
        options=task.options, attempts=task.attempts, max_attempts=task.max_attempts,
        created_at=iso(task.created_at), dispatched_at=iso(task.dispatched_at),
        started_at=iso(task.started_at), finished_at=iso(task.finished_at),
        queue_ms=_ms_between(task.created_at, task.started_at),
        run_ms=_ms_between(task.started_at, task.finished_at),
        worker=task.worker, provider=task.provider, results=task.results, error=_error(task),
        attempt_log=attempts, history=history, links=task_links(task),
    )
