"""GET /events: status changes as Server-Sent Events, for the web UI and any other follower.

Each event's `id` is the status_events row id, so a client that reconnects with
`Last-Event-ID` (browsers do it by themselves) first receives every change it missed.
https://html.spec.whatwg.org/multipage/server-sent-events.html
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from kubevision.context import AppContext
from kubevision.errors import ApiError, error_responses
from kubevision.live import StatusChange, StatusFilter, StatusHub, follow_status, latest_change_id
from kubevision.service import get_context

logger = logging.getLogger(__name__)
router = APIRouter(tags=["status"])


_MAX_EVENT_ID = 2**63 - 1


def _parse_event_id(value: str) -> int:
    # Plain ASCII digits only: int() would also take "+5", " 5 " and other scripts' digits.
    parsed = int(value) if value.isascii() and value.isdigit() and len(value) <= 19 else -1
    # Ids are 64-bit signed database keys; a larger number cannot be one this server sent.
    if not 0 <= parsed <= _MAX_EVENT_ID:
        raise ApiError(422, "invalid_last_event_id",
                       f"Last-Event-ID {value!r} is not an event id this server sent; "
                       f"it must be a whole number from 0 to {_MAX_EVENT_ID}.",
                       {"last_event_id": value})
    return parsed


def _status_event(change: StatusChange) -> str:
    return f"id: {change.id}\nevent: status\ndata: {change.to_json()}\n\n"


def _hub(context: AppContext) -> StatusHub:
    """The process's one reader of status changes, made on the first stream."""
    hub = context.extras.get("status_hub")
    if hub is None:
        hub = StatusHub(context.engine, context.settings.redis_url, context.settings.live)
        context.extras["status_hub"] = hub
    assert isinstance(hub, StatusHub)
    return hub


async def _stream(context: AppContext, after_id: int, selection: StatusFilter,
                  replaying: bool) -> AsyncIterator[str]:
    live = context.settings.live
    yield f"retry: {live.retry_ms}\n\n"
    if not replaying:
        # Tells the client where it joined; the browser keeps it as lastEventId.
        yield f'id: {after_id}\nevent: ready\ndata: {{"last_event_id":{after_id}}}\n\n'
    async for change in follow_status(_hub(context), after_id=after_id, selection=selection,
                                      live=live):
        yield ": keep-alive\n\n" if change is None else _status_event(change)


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}},
                     "description": "`status` events; `ready` once when joining anew"},
               **error_responses(422)},
)
async def stream_events(
    request: Request,
    image_id: str | None = Query(None, max_length=64, description="Only this image's changes"),
    task_id: str | None = Query(None, max_length=64, description="Only this task's changes"),
    after: str | None = Query(None, max_length=100,
                              description="Replay changes after this id (as Last-Event-ID)"),
    last_event_id: str | None = Header(None, max_length=100),
) -> StreamingResponse:
    """Status changes as they happen; send Last-Event-ID to first get the ones missed."""
    context = get_context(request)
    # An empty Last-Event-ID is what a browser sends when it was given no id: none at all.
    resume = last_event_id or after or None
    latest = await latest_change_id(context.engine)
    after_id = latest if resume is None else _parse_event_id(resume)
    if after_id > latest:
        # Beyond the newest change: an id from before the history was reset. Replaying from
        # there would hide every change until the ids catch up, so the client joins anew.
        logger.info("Last-Event-ID %d is beyond the newest change %d; joining anew",
                    after_id, latest)
        after_id, resume = latest, None

    selection = StatusFilter(image_id=image_id, task_id=task_id)
    logger.debug("live stream opened after event %d (%s)", after_id, selection)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(_stream(context, after_id, selection, resume is not None),
                             media_type="text/event-stream", headers=headers)
