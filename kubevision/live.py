"""Status changes for the live view: announced on Redis pub/sub, followed from the database.

The database's status_events table is the record, and its ids are the order; the Redis
channel only wakes the reader up sooner. Without Redis (the embedded run), the reader reads
the table every `live.poll_interval_s` instead. With Redis, it still reads the table every
`live.fallback_poll_s`, because not every writer announces its change (the reaper does not).
One reader per process (:class:`StatusHub`) serves every open stream.
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


class Subscription:
    """One live stream's share of the hub: the changes after `after_id`, as they come."""

    def __init__(self, after_id: int, limit: int) -> None:
        self.after_id = after_id
        self.limit = limit
        self.ended = False
        self._queue: asyncio.Queue[StatusChange | None] = asyncio.Queue()

    def offer(self, change: StatusChange) -> None:
        if self.ended:
            return
        # A stream that fell this far behind is ended rather than buffered without end; its
        # client reconnects with Last-Event-ID and catches up from the table.
        if self._queue.qsize() >= self.limit:
            self.end()
            return
        self._queue.put_nowait(change)

    def end(self) -> None:
        """Stop the stream at its next read."""
        self.ended = True
        self._queue.put_nowait(None)

    async def next(self, timeout_s: float) -> StatusChange | None:
        """The next change; None when `timeout_s` passed without one, or the stream ended."""
        try:
            return await asyncio.wait_for(self._queue.get(), timeout_s)
        except TimeoutError:
            return None


class StatusHub:
    """One reader of the status table per process, however many live streams are open.

    Every stream reading the table (and holding a Redis subscription) on its own made a
    hundred open pages cost a hundred reads per change. The hub reads once per wake-up and
    hands each change to every subscriber; it reads only while someone is subscribed.
    Belongs to one event loop.
    """

    def __init__(self, engine: Engine, redis_url: str | None, live: LiveSettings,
                 queue_limit: int = 10_000) -> None:
        self.engine = engine
        self.redis_url = redis_url
        self.live = live
        self.queue_limit = queue_limit
        self.cursor = 0
        self._subscribers: set[Subscription] = set()
        self._reader: asyncio.Task[None] | None = None
        # Streams that open together must not each start a reader while the first one waits
        # for the table's newest id.
        self._starting = asyncio.Lock()

    @property
    def reading(self) -> bool:
        return self._reader is not None

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    async def subscribe(self) -> Subscription:
        """A subscription to every change after the hub's position now."""
        async with self._starting:
            if self._reader is None:
                self.cursor = await latest_change_id(self.engine)
                self._reader = asyncio.create_task(self._read_changes())
            subscription = Subscription(self.cursor, self.queue_limit)
            self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)
        if not self._subscribers and self._reader is not None:
            self._reader.cancel()
            self._reader = None

    async def _read_changes(self) -> None:
        wakeups = await open_wakeups(self.redis_url, self.live)
        gaps = GapWatch(self.live.gap_grace_s)
        try:
            while True:
                changes = await _read_after(self.engine, self.cursor)
                ready = changes[:gaps.readable(self.cursor, [change.id for change in changes])]
                for change in ready:
                    self.cursor = change.id
                    for subscription in self._subscribers:
                        subscription.offer(change)
                gaps.forget_below(self.cursor)
                if len(ready) == _BATCH:
                    continue
                # A gap is re-read soon; otherwise wait for a wake-up.
                pending = len(ready) < len(changes)
                await wakeups.wait(self.live.poll_interval_s if pending
                                   else self.live.keepalive_s)
        except Exception:
            logger.exception("live status reader stopped; open streams end and reconnect")
            for subscription in self._subscribers:
                subscription.end()
            self._reader = None
        finally:
            await wakeups.close()


async def follow_status(
    hub: StatusHub, *, after_id: int, selection: StatusFilter, live: LiveSettings,
) -> AsyncIterator[StatusChange | None]:
    """Every change above `after_id` that matches, in id order, then each new one as it comes.

    What happened before the hub's position is read from the table; what comes after, from
    the hub. Yields None when `live.keepalive_s` passed without a change, so the caller can
    send a keep-alive; ends after `live.stream_max_s`, or when this stream fell too far behind.
    """
    subscription = await hub.subscribe()
    try:
        cursor = after_id
        while cursor < subscription.after_id:
            changes = [change for change in await _read_after(hub.engine, cursor)
                       if change.id <= subscription.after_id]
            if not changes:
                break
            for past in changes:
                cursor = past.id
                if selection.matches(past):
                    yield past

        started = last_sent = time.monotonic()
        while time.monotonic() - started < live.stream_max_s:
            change = await subscription.next(
                max(0.01, live.keepalive_s - (time.monotonic() - last_sent)))
            if subscription.ended:
                break
            if change is None:
                if time.monotonic() - last_sent >= live.keepalive_s:
                    last_sent = time.monotonic()
                    yield None
                continue
            if change.id <= cursor:
                continue
            cursor = change.id
            if selection.matches(change):
                last_sent = time.monotonic()
                yield change
    finally:
        hub.unsubscribe(subscription)
