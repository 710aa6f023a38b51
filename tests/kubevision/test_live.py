"""Following status_events: how far a reader may read past ids not yet visible (GapWatch),
and the one reader per process that every live stream shares (StatusHub)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import aclosing

import pytest

from kubevision.context import AppContext
from kubevision.db.tasks import record_status
from kubevision.live import (
    GapWatch,
    StatusFilter,
    StatusHub,
    follow_status,
    latest_change_id,
)
from kubevision.settings import LiveSettings
from tests.support.system import make_task

LIVE = LiveSettings(poll_interval_s=0.02, fallback_poll_s=0.02, keepalive_s=0.5,
                    stream_max_s=30)


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_consecutive_ids_are_all_readable() -> None:
    watch = GapWatch(grace_s=2, clock=_Clock())

    assert watch.readable(10, [11, 12, 13]) == 3


def test_reading_stops_at_a_fresh_gap() -> None:
    watch = GapWatch(grace_s=2, clock=_Clock())

    assert watch.readable(10, [11, 13, 14]) == 1
    assert watch.readable(11, [13, 14]) == 0


def test_a_gap_that_outlives_the_grace_is_skipped() -> None:
    clock = _Clock()
    watch = GapWatch(grace_s=2, clock=clock)
    watch.readable(10, [12])

    clock.now += 2.5

    assert watch.readable(10, [12, 13]) == 2


def test_a_gap_filled_in_time_delivers_the_late_row_first() -> None:
    clock = _Clock()
    watch = GapWatch(grace_s=2, clock=clock)
    assert watch.readable(10, [12]) == 0

    clock.now += 1

    assert watch.readable(10, [11, 12]) == 2


@pytest.fixture()
def anyio_backend() -> str:
    return "asyncio"


def _record(context: AppContext, image_id: str, task_id: str, state: str) -> None:
    with context.engine.begin() as connection:
        record_status(connection, image_id=image_id, task_id=task_id, state=state)


async def _states(hub: StatusHub, after_id: int, task_id: str, count: int) -> list[str]:
    states: list[str] = []
    selection = StatusFilter(task_id=task_id)
    async with aclosing(follow_status(hub, after_id=after_id, selection=selection,
                                      live=LIVE)) as changes:
        async for change in changes:
            if change is not None:
                states.append(change.state)
            if len(states) == count:
                break
    return states


async def _until(condition: Callable[[], bool]) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), 10)


async def _following(hub: StatusHub, after_id: int, task_id: str,
                     count: int) -> asyncio.Task[list[str]]:
    """A stream reading `count` changes of the task in the background, once it has joined."""
    joined = hub.subscriber_count + 1
    follower = asyncio.create_task(_states(hub, after_id, task_id, count))
    await _until(lambda: hub.subscriber_count >= joined)
    return follower


@pytest.fixture()
def hub(context: AppContext) -> StatusHub:
    return StatusHub(context.engine, context.settings.redis_url, LIVE)


@pytest.fixture()
def task(context: AppContext, unique_jpeg: bytes) -> tuple[str, str]:
    """An image and a task of it: (image id, task id)."""
    return make_task(context, unique_jpeg)


@pytest.mark.anyio
async def test_twenty_streams_get_every_change_in_order_from_one_reader(
    context: AppContext, hub: StatusHub, task: tuple[str, str]
) -> None:
    image_id, task_id = task
    start = await latest_change_id(context.engine)
    # Started together, so that they join the hub at the same moment.
    followers = [asyncio.create_task(_states(hub, start, task_id, 3)) for _ in range(20)]
    await _until(lambda: hub.subscriber_count == 20)
    readers = [running for running in asyncio.all_tasks()
               if running.get_coro().__qualname__ == "StatusHub._read_changes"]

    for state in ("processing", "failed", "queued"):
        _record(context, image_id, task_id, state)
    results = await asyncio.wait_for(asyncio.gather(*followers), 20)

    assert len(readers) == 1
    assert results == [["processing", "failed", "queued"]] * 20
    assert hub.subscriber_count == 0 and not hub.reading


@pytest.mark.anyio
async def test_a_stream_from_an_older_id_gets_the_table_first_then_live_changes(
    context: AppContext, hub: StatusHub, task: tuple[str, str]
) -> None:
    image_id, task_id = task
    before = await latest_change_id(context.engine)
    _record(context, image_id, task_id, "processing")
    # An earlier stream has the hub reading already, past the change above.
    other = await _following(hub, before, "no-such-task", 1)

    late = await _following(hub, before, task_id, 2)
    _record(context, image_id, task_id, "done")
    states = await asyncio.wait_for(late, 20)
    other.cancel()

    assert states == ["processing", "done"]


@pytest.mark.anyio
async def test_the_reader_stops_with_its_last_stream_and_starts_with_the_next(
    context: AppContext, hub: StatusHub, task: tuple[str, str]
) -> None:
    image_id, task_id = task

    for state in ("processing", "done"):
        follower = await _following(hub, await latest_change_id(context.engine), task_id, 1)
        assert hub.reading
        _record(context, image_id, task_id, state)
        assert await asyncio.wait_for(follower, 20) == [state]
        assert not hub.reading


@pytest.mark.anyio
async def test_a_stream_that_falls_too_far_behind_is_ended(
    context: AppContext, task: tuple[str, str]
) -> None:
    image_id, task_id = task
    hub = StatusHub(context.engine, context.settings.redis_url, LIVE, queue_limit=2)
    subscription = await hub.subscribe()

    for state in ("processing", "failed", "queued"):
        _record(context, image_id, task_id, state)
    await _until(lambda: subscription.ended)
    kept = [await subscription.next(0.1) for _ in range(3)]
    hub.unsubscribe(subscription)

    assert [change.state for change in kept if change is not None] == ["processing", "failed"]
    assert not hub.reading
