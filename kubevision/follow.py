"""Following status changes from a client: the `GET /events` stream, read without a browser.

`kubevision submit --wait` uses it to learn when its tasks finish instead of asking for each
task again and again; a thousand files then cost one stream and one read per task.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

# The server sends a keep-alive comment after 15 s of quiet; more than that means it is gone.
_READ_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class StatusEvent:
    """One `status` event: a row of the server's status history."""

    id: int
    task_id: str | None
    state: str


def parse_events(lines: Iterable[str]) -> Iterator[tuple[str, str, str]]:
    """(event id, event type, data) for each event in text/event-stream lines; comments are
    skipped, and an event without a type is a "message" as the SSE standard says."""
    event_id, event_type = "", "message"
    data: list[str] = []
    for line in lines:
        if not line:
            if data or event_type != "message":
                yield event_id, event_type, "\n".join(data)
            event_type, data = "message", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "id":
            event_id = value
        elif name == "event":
            event_type = value
        elif name == "data":
            data.append(value)


def latest_event_id(client: httpx.Client) -> int:
    """The id of the newest status change now: where a later stream should start from."""
    with client.stream("GET", "/events", timeout=httpx.Timeout(10, read=_READ_TIMEOUT_S)) as reply:
        reply.raise_for_status()
        for event_id, event_type, _ in parse_events(reply.iter_lines()):
            if event_type == "ready":
                return int(event_id)
    raise httpx.RemoteProtocolError("the event stream ended before its ready event")


def status_events(client: httpx.Client, after: int,
                  deadline: float | None = None) -> Iterator[StatusEvent]:
    """Status changes after the id `after`, as they happen, for as long as the caller reads,
    or until `deadline` (a `time.monotonic()` value): then httpx.ReadTimeout is raised.

    The server ends a stream after a few minutes; this opens the next one where the last
    stopped, so the caller sees one unbroken sequence.
    """
    while True:
        # A quiet stream must not outlast the caller's deadline, keep-alives or not.
        read_s = _READ_TIMEOUT_S
        if deadline is not None:
            read_s = min(read_s, max(0.1, deadline - time.monotonic()))
        with client.stream("GET", "/events", params={"after": str(after)},
                           timeout=httpx.Timeout(10, read=read_s)) as reply:
            reply.raise_for_status()
            for event_id, event_type, data in parse_events(reply.iter_lines()):
                if event_type != "status":
                    continue
                change: dict[str, Any] = json.loads(data)
                after = int(event_id)
                yield StatusEvent(id=after, task_id=change.get("task_id"),
                                  state=str(change.get("state")))
                if deadline is not None and time.monotonic() > deadline:
                    raise httpx.ReadTimeout("the deadline passed while following events")
