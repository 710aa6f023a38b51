"""Task records: creation with de-duplication, leases held by workers, and their history.

A task is claimed by a worker with a lease that the worker renews while it runs. Every write a
worker makes after the claim names its lease token, so a worker that lost its lease (it was
presumed dead and the task was handed to another) can no longer change the task: that is what
makes redelivered messages and restarted workers harmless.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from kubevision.clock import utcnow
from kubevision.db.images import set_image_status
from kubevision.db.schema import idempotency_keys, status_events, task_attempts, tasks
from kubevision.ids import new_id

TERMINAL_STATES = ("done", "failed")


@dataclass(frozen=True)
class TaskRequest:
    image_id: str
    models: list[str]
    options: dict[str, Any]
    fingerprint: str
    max_attempts: int


class IdempotencyKeyReused(ValueError):
    """The Idempotency-Key was first used with a different request."""

    def __init__(self, key: str) -> None:
        super().__init__(f"Idempotency-Key {key!r} was already used with a different request")
        self.key = key


def record_status(
    connection: Connection, *, image_id: str, task_id: str | None, state: str,
    detail: dict[str, Any] | None = None,
) -> int:
    """Append a state change to the history and return its sequence number."""
    result = connection.execute(
        insert(status_events).values(image_id=image_id, task_id=task_id, state=state,
                                     detail=detail, at=utcnow())
    )
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def get_task(connection: Connection, task_id: str) -> Row[Any] | None:
    return connection.execute(select(tasks).where(tasks.c.id == task_id)).first()


def _task_for_key(connection: Connection, key: str, fingerprint: str) -> Row[Any] | None:
    row = connection.execute(
        select(idempotency_keys).where(idempotency_keys.c.key == key)
    ).first()
    if row is None:
        return None
    if row.fingerprint != fingerprint:
        raise IdempotencyKeyReused(key)
    return get_task(connection, row.task_id)


def _reusable_task(connection: Connection, fingerprint: str) -> Row[Any] | None:
    return connection.execute(select(tasks).where(tasks.c.dedupe_key == fingerprint)).first()


def create_or_reuse_task(
    connection: Connection, request: TaskRequest, *, idempotency_key: str | None, force: bool
) -> tuple[Row[Any], bool]:
    """The task for this request: an identical earlier one, or a new queued one (flag True)."""
    if idempotency_key is not None:
        keyed = _task_for_key(connection, idempotency_key, request.fingerprint)
        if keyed is not None:
            return keyed, False
    if not force:
        reusable = _reusable_task(connection, request.fingerprint)
        if reusable is not None:
            return reusable, False

    task_id = new_id()
    now = utcnow()
    try:
        with connection.begin_nested():
            if force:
                connection.execute(update(tasks).where(tasks.c.dedupe_key == request.fingerprint)
                                   .values(dedupe_key=None))
            connection.execute(insert(tasks).values(
                id=task_id, image_id=request.image_id, dedupe_key=request.fingerprint,
                fingerprint=request.fingerprint, models=request.models, options=request.options,
                state="queued", attempts=0, max_attempts=request.max_attempts, created_at=now,
            ))
            if idempotency_key is not None:
                connection.execute(insert(idempotency_keys).values(
                    key=idempotency_key, fingerprint=request.fingerprint, task_id=task_id,
                    created_at=now,
                ))
    except IntegrityError:
        # An identical request won the race; answer with its task.
        if idempotency_key is not None:
            keyed = _task_for_key(connection, idempotency_key, request.fingerprint)
            if keyed is not None:
                return keyed, False
        raced = _reusable_task(connection, request.fingerprint)
        if raced is None:
            raise
        return raced, False

    set_image_status(connection, request.image_id, "queued", task_id)
    record_status(connection, image_id=request.image_id, task_id=task_id, state="queued")
    row = get_task(connection, task_id)
    assert row is not None
    return row, True


def mark_dispatched(connection: Connection, task_id: str) -> None:
    connection.execute(update(tasks).where(tasks.c.id == task_id)
                       .values(dispatched_at=utcnow()))


def latest_task_for_image(connection: Connection, image_id: str) -> Row[Any] | None:
    return connection.execute(
        select(tasks).where(tasks.c.image_id == image_id)
        .order_by(tasks.c.created_at.desc()).limit(1)
    ).first()


def list_attempts(connection: Connection, task_id: str) -> list[Row[Any]]:
    return list(connection.execute(
        select(task_attempts).where(task_attempts.c.task_id == task_id)
        .order_by(task_attempts.c.number)
    ))


def list_status_events(connection: Connection, task_id: str) -> list[Row[Any]]:
    return list(connection.execute(
        select(status_events).where(status_events.c.task_id == task_id)
        .order_by(status_events.c.id)
    ))


def status_events_after(connection: Connection, after_id: int, limit: int) -> list[Row[Any]]:
    """Every status change with an id above `after_id`, oldest first, at most `limit`."""
    return list(connection.execute(
        select(status_events).where(status_events.c.id > after_id)
        .order_by(status_events.c.id).limit(limit)
    ))


def last_status_event_id(connection: Connection) -> int:
    """The id of the newest status change, 0 when there is none."""
    return int(connection.execute(select(func.max(status_events.c.id))).scalar() or 0)


@dataclass(frozen=True)
class Lease:
    task_id: str
    image_id: str
    token: str
    attempt: int
    # What to run, read with the claim so the worker need not read the task again.
    models: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)


def claim_task(
    connection: Connection, task_id: str, *, worker: str, lease_s: float
) -> Lease | None:
    """Take the task for this worker if it is queued or its last worker's lease ran out."""
    now = utcnow()
    token = new_id()
    previous = get_task(connection, task_id)
    claimable = and_(
        tasks.c.id == task_id,
        tasks.c.attempts < tasks.c.max_attempts,
        or_(tasks.c.state == "queued",
            and_(tasks.c.state == "processing", tasks.c.lease_expires_at < now)),
    )
    row = connection.execute(
        update(tasks).where(claimable).values(
            state="processing", lease_token=token,
            lease_expires_at=now + timedelta(seconds=lease_s), worker=worker,
            attempts=tasks.c.attempts + 1,
            started_at=func.coalesce(tasks.c.started_at, now),
        ).returning(tasks.c.image_id, tasks.c.attempts, tasks.c.models, tasks.c.options)
    ).first()
    if row is None:
        return None

    assert previous is not None
    if previous.state == "processing":
        # A redelivered message reached us before the reaper noticed the dead worker.
        _record_lost(connection, previous, now)
    connection.execute(insert(task_attempts).values(
        task_id=task_id, number=row.attempts, worker=worker, started_at=now,
    ))
    set_image_status(connection, row.image_id, "processing", task_id)
    record_status(connection, image_id=row.image_id, task_id=task_id, state="processing",
                  detail={"attempt": row.attempts, "worker": worker})
    return Lease(task_id=task_id, image_id=row.image_id, token=token, attempt=row.attempts,
                 models=tuple(row.models), options=dict(row.options or {}))


def renew_lease(connection: Connection, lease: Lease, lease_s: float) -> bool:
    """Extend the lease; False when this worker no longer holds it."""
    renewed = connection.execute(
        update(tasks).where(tasks.c.id == lease.task_id, tasks.c.lease_token == lease.token)
        .values(lease_expires_at=utcnow() + timedelta(seconds=lease_s))
    )
    return renewed.rowcount == 1


def _end_attempt(
    connection: Connection, lease: Lease, outcome: str, error: str | None, started: datetime
) -> None:
    now = utcnow()
    connection.execute(
        update(task_attempts)
        .where(task_attempts.c.task_id == lease.task_id, task_attempts.c.number == lease.attempt)
        .values(ended_at=now, outcome=outcome, error=error,
                duration_ms=(now - started).total_seconds() * 1000)
    )


def finish_task(
    connection: Connection, lease: Lease, *, results: dict[str, Any], provider: str,
    started: datetime,
) -> bool:
    """Store the results if this worker still holds the lease; False when it lost it."""
    finished = connection.execute(
        update(tasks).where(tasks.c.id == lease.task_id, tasks.c.lease_token == lease.token)
        .values(state="done", results=results, provider=provider, finished_at=utcnow(),
                lease_token=None, lease_expires_at=None, error=None)
    )
    if finished.rowcount != 1:
        return False
    _end_attempt(connection, lease, "done", None, started)
    set_image_status(connection, lease.image_id, "done", lease.task_id)
    record_status(connection, image_id=lease.image_id, task_id=lease.task_id, state="done")
    return True


def fail_attempt(
    connection: Connection, lease: Lease, *, code: str, message: str, permanent: bool,
    started: datetime,
) -> str | None:
    """End this attempt; the task is queued again unless the failure is permanent or the
    attempts are spent. Returns the task's new state, or None when the lease was lost."""
    row = get_task(connection, lease.task_id)
    if row is None or row.lease_token != lease.token:
        return None
    final = permanent or row.attempts >= row.max_attempts
    state = "failed" if final else "queued"
    values: dict[str, Any] = {"state": state, "lease_token": None, "lease_expires_at": None,
                              "error": {"code": code, "message": message}}
    if final:
        values.update(finished_at=utcnow(), dedupe_key=None)
    connection.execute(update(tasks).where(tasks.c.id == lease.task_id,
                                           tasks.c.lease_token == lease.token).values(**values))
    _end_attempt(connection, lease, "failed", f"{code}: {message}", started)
    set_image_status(connection, lease.image_id, state, lease.task_id)
    record_status(connection, image_id=lease.image_id, task_id=lease.task_id, state=state,
                  detail={"code": code, "message": message, "attempt": lease.attempt})
    return state


def expired_leases(connection: Connection, now: datetime) -> list[Row[Any]]:
    return list(connection.execute(
        select(tasks).where(tasks.c.state == "processing", tasks.c.lease_expires_at < now)
    ))


def stale_queued(connection: Connection, *, undispatched_before: datetime,
                 dispatched_before: datetime) -> list[Row[Any]]:
    """Queued tasks whose message was never sent, or was sent long ago and never taken."""
    return list(connection.execute(
        select(tasks).where(
            tasks.c.state == "queued",
            or_(and_(tasks.c.dispatched_at.is_(None), tasks.c.created_at < undispatched_before),
                tasks.c.dispatched_at < dispatched_before),
        )
    ))


def release_expired(connection: Connection, task: Row[Any], now: datetime) -> str | None:
    """Hand a dead worker's task back to the queue, or fail it when its attempts are spent.
    Returns the new state, or None if the task changed meanwhile."""
    final = task.attempts >= task.max_attempts
    state = "failed" if final else "queued"
    values: dict[str, Any] = {"state": state, "lease_token": None, "lease_expires_at": None}
    if final:
        values.update(finished_at=now, dedupe_key=None, error={
            "code": "attempts_exhausted",
            "message": f"gave up after {task.attempts} attempts; the last worker was lost"})
    changed = connection.execute(
        update(tasks).where(tasks.c.id == task.id, tasks.c.lease_token == task.lease_token)
        .values(**values)
    )
    if changed.rowcount != 1:
        return None
    _record_lost(connection, task, now, state=state)
    return state


def _record_lost(
    connection: Connection, task: Row[Any], now: datetime, state: str = "queued"
) -> None:
    """Close the attempt of a worker that stopped renewing its lease, in the log and history."""
    message = f"worker {task.worker} stopped renewing its lease"
    connection.execute(
        update(task_attempts)
        .where(task_attempts.c.task_id == task.id, task_attempts.c.number == task.attempts)
        .values(ended_at=now, outcome="lost", error=message)
    )
    set_image_status(connection, task.image_id, state, task.id)
    record_status(connection, image_id=task.image_id, task_id=task.id, state=state,
                  detail={"code": "worker_lost", "message": message})
