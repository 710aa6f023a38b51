"""Status changes for the live view: announced on Redis pub/sub, followed from the database.

The database's status_events table is the record, and its ids are the order; the Redis
channel only wakes followers up sooner. Without Redis (the embedded run), a follower reads
the table every `live.poll_interval_s` instead. With Redis, it still reads the table every
`live.fallback_poll_s`, because not every writer announces its change (the reaper does not).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import redis
import redis.asyncio as aioredis
from anyio import to_thread
from sqlalchemy import Engine

from kubevision.clock import iso
from kubevision.db.tasks import last_status_event_id, status_events_after
from kubevision.settings import LiveSettings

logger = logging.getLogger(__name__)

STATUS_CHANNEL = "kv:status"
_BATCH = 500


def publish_status(client: redis.Redis | None, image_id: str, task_id: str, state: str) -> None:
    if client is None:
        return
    message = json.dumps({"image_id": image_id, "task_id": task_id, "state": state})
    try:
        client.publish(STATUS_CHANNEL, message)
    except redis.RedisError as exc:
        logger.warning("status of task %s not announced: %s", task_id, exc)


@dataclass(frozen=True)
class StatusChange:
    """One row of status_events, as the live view sends it."""

    id: int
    image_id: str
    task_id: str | None
    state: str
    detail: dict[str, Any] | None
    at: str | None

    def to_json(self) -> str:
        return json.dumps(self.__dict__, separators=(",", ":"))


@dataclass(frozen=True)
class StatusFilter:
    image_id: str | None = None
    task_id: str | None = None

    def matches(self, change: StatusChange) -> bool:
        return ((self.image_id is None or change.image_id == self.image_id)
                and (self.task_id is None or change.task_id == self.task_id))


class GapWatch:
    """Decides how far a follower may advance past ids that may not be visible yet.

    PostgreSQL takes an id from the sequence at insert but the row shows only at commit, so
    id 11 can be read before id 10 commits. Reading past the gap would lose 10 for good;
    waiting forever would stall on ids that a rolled-back insert used up. So a gap is waited
    for `grace_s` from when it was first seen, then skipped.
    """

    def __init__(self, grace_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.grace_s = grace_s
        self.clock = clock
        self._first_seen: dict[int, float] = {}

    def readable(self, cursor: int, ids: list[int]) -> int:
        """How many of `ids` (ascending, all above `cursor`) may be delivered now."""
        now = self.clock()
        expected = cursor + 1
        for count, row_id in enumerate(ids):
            if row_id != expected:
                first = self._first_seen.setdefault(expected, now)
                if now - first < self.grace_s:
                    return count
            expected = row_id + 1
        return len(ids)

    def forget_below(self, cursor: int) -> None:
        self._first_seen = {key: at for key, at in self._first_seen.items() if key > cursor}


class Wakeups(Protocol):
    async def wait(self, timeout_s: float) -> None: ...

    async def close(self) -> None: ...


class TimerWakeups:
    """No announcements to listen to: wake up on a fixed interval."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s

    async def wait(self, timeout_s: float) -> None:
        await asyncio.sleep(min(timeout_s, self.interval_s))

    async def close(self) -> None:
        return None


class RedisWakeups:
    """Wakes up when a status change is announced on the channel, or at the fallback interval."""

    def __init__(self, client: aioredis.Redis, fallback_s: float) -> None:
        self.client = client
        self.pubsub = client.pubsub(ignore_subscribe_messages=True)
        self.fallback_s = fallback_s

    async def open(self) -> None:
        await self.pubsub.subscribe(STATUS_CHANNEL)

    async def wait(self, timeout_s: float) -> None:
        message = await self.pubsub.get_message(timeout=min(timeout_s, self.fallback_s))
        # Drain what else arrived: one table read covers every change announced so far.
        while message is not None:
            message = await self.pubsub.get_message(timeout=0)

    async def close(self) -> None:
        await self.pubsub.aclose()
        await self.client.aclose()


async def open_wakeups(redis_url: str | None, live: LiveSettings) -> Wakeups:
    """Redis wake-ups when Redis is configured and answers, else the timer."""
    if redis_url is None:
        return TimerWakeups(live.poll_interval_s)
    wakeups = RedisWakeups(aioredis.Redis.from_url(redis_url, socket_connect_timeout=1.0),
                           live.fallback_poll_s)
    try:
        await wakeups.open()
    except (redis.RedisError, OSError) as exc:
        logger.warning("live view falls back to reading the table every %.1f s: Redis: %s",
                       live.poll_interval_s, exc)
        await wakeups.close()
        return TimerWakeups(live.poll_interval_s)
    return wakeups


async def latest_change_id(engine: Engine) -> int:
    def read() -> int:
        with engine.connect() as connection:
            return last_status_event_id(connection)

    return await to_thread.run_sync(read)


async def _read_after(engine: Engine, after_id: int) -> list[StatusChange]:
    def read() -> list[StatusChange]:
        with engine.connect() as connection:
            rows = status_events_after(connection, after_id, _BATCH)
        return [StatusChange(id=int(row.id), image_id=row.image_id, task_id=row.task_id,
                             state=row.state, detail=row.detail, at=iso(row.at))
                for row in rows]

    return await to_thread.run_sync(read)


async def follow_status(
    engine: Engine, wakeups: Wakeups, *, after_id: int, selection: StatusFilter,
    live: LiveSettings,
) -> AsyncIterator[StatusChange | None]:
    """Every change above `after_id` that matches, in id order, then each new one as it comes.

    Yields None when `live.keepalive_s` passed without a change, so the caller can send a
    keep-alive; ends after `live.stream_max_s`.
    """
    cursor = after_id
    gaps = GapWatch(live.gap_grace_s)
    started = last_sent = time.monotonic()
    while time.monotonic() - started < live.stream_max_s:
        changes = await _read_after(engine, cursor)
        ready = changes[:gaps.readable(cursor, [change.id for change in changes])]
        for change in ready:
            cursor = change.id
            if selection.matches(change):
                last_sent = time.monotonic()
                yield change
        gaps.forget_below(cursor)
        if len(ready) == _BATCH:
            continue

        if time.monotonic() - last_sent >= live.keepalive_s:
            last_sent = time.monotonic()
            yield None
        # A gap is re-read soon; otherwise wait for a wake-up or the next keep-alive.
        pending = len(ready) < len(changes)
        timeout = live.poll_interval_s if pending else live.keepalive_s
        await wakeups.wait(max(0.01, min(timeout, live.keepalive_s - (time.monotonic()
                                                                      - last_sent))))
