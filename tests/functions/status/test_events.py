"""The live channel, GET /events: every state change in order, and catching up on reconnect.

State changes are made with the same database calls and Redis announcements the process
function and the worker make, so both back ends are covered: Redis wake-ups on `services`,
reading the table on an interval on `embedded`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from functions.status.app import create_app
from kubevision.context import AppContext
from kubevision.db.tasks import claim_task, finish_task, last_status_event_id
from kubevision.live import publish_status
from kubevision.settings import Settings
from tests.conftest import make_settings
from tests.support.system import EventStream, free_port, make_task, serve_in_thread


@pytest.fixture(scope="module")
def live_settings(session_dir: Path, service_urls: dict[str, str], model_dir: Path,
                  settings: Settings) -> Settings:
    """The session's stores, with a keep-alive short enough to see in a test."""
    return make_settings(session_dir, service_urls, model_dir,
                         live={"keepalive_s": 0.5, "poll_interval_s": 0.1})


@pytest.fixture(scope="module")
def base_url(live_settings: Settings) -> Iterator[str]:
    with serve_in_thread(create_app(live_settings), free_port()) as url:
        yield url


def _queue(context: AppContext, data: bytes) -> tuple[str, str]:
    image_id, task_id = make_task(context, data)
    publish_status(context.cache.client, image_id, task_id, "queued")
    return image_id, task_id


def _process(context: AppContext, task_id: str) -> None:
    """Claim the task and finish it, announcing each change as the worker does."""
    with context.engine.begin() as connection:
        lease = claim_task(connection, task_id, worker="test-worker", lease_s=30)
    assert lease is not None
    publish_status(context.cache.client, lease.image_id, task_id, "processing")
    with context.engine.begin() as connection:
        assert finish_task(connection, lease, results={}, provider="CPUExecutionProvider",
                           started=datetime.now(UTC).replace(tzinfo=None))
    publish_status(context.cache.client, lease.image_id, task_id, "done")


def _changes_of(stream: EventStream, task_id: str, count: int) -> list[dict[str, object]]:
    changes: list[dict[str, object]] = []
    while len(changes) < count:
        event = stream.next_of("status")
        change = json.loads(event.data)
        assert event.id == str(change["id"])
        if change["task_id"] == task_id:
            changes.append(change)
    return changes


def test_follower_sees_every_change_in_order(
    base_url: str, context: AppContext, unique_jpeg: bytes
) -> None:
    with EventStream(f"{base_url}/events") as stream:
        assert stream.status_code == 200
        assert stream.content_type.startswith("text/event-stream")
        stream.next_of("ready")
        image_id, task_id = _queue(context, unique_jpeg)
        _process(context, task_id)

        changes = _changes_of(stream, task_id, 3)

    assert [change["state"] for change in changes] == ["queued", "processing", "done"]
    assert all(change["image_id"] == image_id for change in changes)
    ids = [int(str(change["id"])) for change in changes]
    assert ids == sorted(ids) and len(set(ids)) == 3


def test_reconnect_with_last_event_id_replays_what_was_missed(
    base_url: str, context: AppContext, unique_jpeg: bytes
) -> None:
    with EventStream(f"{base_url}/events") as stream:
        stream.next_of("ready")
        _, task_id = _queue(context, unique_jpeg)
        queued = stream.next_of("status")
    assert json.loads(queued.data)["state"] == "queued"

    _process(context, task_id)
    with EventStream(f"{base_url}/events", headers={"Last-Event-ID": str(queued.id)}) as stream:
        missed = _changes_of(stream, task_id, 2)

    assert [change["state"] for change in missed] == ["processing", "done"]
    assert all(int(str(change["id"])) > int(str(queued.id)) for change in missed)


def test_stream_filtered_by_task_carries_only_that_task(
    base_url: str, context: AppContext, unique_jpeg: bytes, coffee_png: bytes
) -> None:
    _, other_task = make_task(context, coffee_png)
    _, task_id = make_task(context, unique_jpeg)

    with EventStream(f"{base_url}/events?task_id={task_id}&after=0") as stream:
        replayed = json.loads(stream.next_of("status").data)
        _process(context, other_task)
        _process(context, task_id)
        states = [json.loads(stream.next_of("status").data) for _ in range(2)]

    assert replayed["task_id"] == task_id and replayed["state"] == "queued"
    assert [(s["task_id"], s["state"]) for s in states] == [(task_id, "processing"),
                                                            (task_id, "done")]


def test_quiet_stream_sends_keep_alive_comments(base_url: str) -> None:
    with EventStream(f"{base_url}/events?task_id=nothing-happens-here") as stream:
        stream.next_of("ready")
        comment = stream.next(timeout_s=5)

    assert comment.comment == "keep-alive"


# The last two are beyond a 64-bit id: once they broke the stream instead of being refused.
@pytest.mark.parametrize("value", [b"yesterday", b"-3", b"99999999999999999999",
                                   b"9223372036854775808", b"1" * 30, b"+5",
                                   "\uff11\uff12".encode()])
def test_bad_last_event_id_gets_422_naming_it(base_url: str, value: bytes) -> None:
    # Refused before any event is streamed, so an ordinary request reads the answer.
    response = httpx.get(f"{base_url}/events", headers={"Last-Event-ID": value}, timeout=10)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_last_event_id"


@pytest.mark.parametrize("value", ["", "9223372036854775807"])
def test_an_empty_or_unseen_last_event_id_joins_anew_at_the_newest_change(
    base_url: str, context: AppContext, unique_jpeg: bytes, value: str
) -> None:
    _queue(context, unique_jpeg)
    with EventStream(f"{base_url}/events", headers={"Last-Event-ID": value}) as stream:
        ready = stream.next_of("ready")

    with context.engine.connect() as connection:
        assert int(str(ready.id)) == last_status_event_id(connection)
