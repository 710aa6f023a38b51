"""Following the event stream as a client: parsing, and a task's changes in order."""

from __future__ import annotations

import time

import httpx
import pytest
from PIL import Image
from skimage import data as skdata

from kubevision.follow import latest_event_id, parse_events, status_events
from kubevision.local import LocalSystem
from tests.conftest import encode


def test_events_are_parsed_with_ids_types_and_joined_data() -> None:
    lines = [": keep-alive", "", "id: 7", "event: ready", 'data: {"a": 1}', "",
             "id: 8", "event: status", "data: one", "data: two", ""]

    events = list(parse_events(lines))

    assert events == [("7", "ready", '{"a": 1}'), ("8", "status", "one\ntwo")]


def test_a_client_sees_its_task_queued_processing_and_done(system: LocalSystem) -> None:
    photo = encode(Image.fromarray(skdata.coffee()).rotate(7), "PNG")

    with httpx.Client(base_url=system.plan.url("gateway"), timeout=60) as client:
        start = latest_event_id(client)
        image = client.post("/upload", files={"file": ("c.png", photo)}).json()
        task = client.post(f"/process/{image['id']}", json={"tasks": ["classify"]}).json()
        states = []
        for change in status_events(client, after=start):
            if change.task_id == task["task_id"]:
                states.append(change.state)
            if states[-1:] == ["done"]:
                break

    assert states == ["queued", "processing", "done"]


def test_following_a_quiet_stream_ends_at_the_callers_deadline(system: LocalSystem) -> None:
    with httpx.Client(base_url=system.plan.url("gateway"), timeout=60) as client:
        start = latest_event_id(client)
        quiet = status_events(client, after=start, deadline=time.monotonic() + 1)

        # Changes of other tests' tasks may still arrive; the deadline ends the loop either way.
        with pytest.raises(httpx.ReadTimeout):
            for _ in quiet:
                pass
