"""The bridge: CloudEvents in over HTTP, Celery tasks out to the broker.

Answers follow what a Knative Broker expects of a subscriber: 2xx once the broker has
confirmed the message, 4xx for an event that can never succeed (the Broker must not retry it),
5xx for a temporary fault (the Broker retries, then dead-letters).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from cloudevents.core.bindings.http import HTTPMessage, from_http_event
from cloudevents.core.exceptions import BaseCloudEventException, CloudEventValidationError
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from kombu.exceptions import OperationalError
from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from kubevision.clock import utcnow
from kubevision.context import AppContext
from kubevision.db.schema import received_events
from kubevision.db.tasks import get_task, mark_dispatched
from kubevision.errors import ApiError, error_responses
from kubevision.events import PROCESS_REQUESTED
from kubevision.queue import publish_process
from kubevision.service import create_service, get_context
from kubevision.settings import Settings
from kubevision.uploads import read_capped

logger = logging.getLogger(__name__)
router = APIRouter(tags=["bridge"])

_MAX_EVENT_BYTES = 64 * 1024


REQUIRED_ATTRIBUTES = ("id", "source", "type", "specversion")


def _attributes(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """The event's context attributes as sent: from the ``ce-`` headers in binary mode, from the
    JSON envelope in structured mode. The SDK would invent an `id` for a missing one, which
    would defeat de-duplication, so the bridge reads them itself before the SDK parses."""
    if any(key.startswith("ce-") for key in headers):
        return {key.removeprefix("ce-"): value for key, value in headers.items()
                if key.startswith("ce-")}
    try:
        envelope = json.loads(body)
    except ValueError as exc:
        raise ApiError(400, "invalid_event",
                       f"A structured CloudEvent must be a JSON object; this body is not JSON "
                       f"({exc}).", {"mode": "structured"}) from exc
    if not isinstance(envelope, dict):
        raise ApiError(400, "invalid_event",
                       "A structured CloudEvent must be a JSON object with id, source, type "
                       "and specversion.", {"mode": "structured"})
    return envelope


def _check_time(value: object) -> None:
    # The SDK's own parser fails on a bad time with "invalid literal for int()", naming nothing.
    if value is None:
        return
    try:
        datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise ApiError(400, "invalid_event",
                       f"The CloudEvent attribute time {value!r} is not an RFC 3339 timestamp.",
                       {"attributes": {"time": [str(exc)]}}) from exc


def _parse(headers: dict[str, str], body: bytes) -> Any:
    attributes = _attributes(headers, body)
    missing = [name for name in REQUIRED_ATTRIBUTES if not attributes.get(name)]
    if missing:
        raise ApiError(400, "invalid_event",
                       f"The CloudEvent lacks required attributes: {', '.join(missing)}.",
                       {"missing_attributes": missing})
    _check_time(attributes.get("time"))
    try:
        return from_http_event(HTTPMessage(headers=headers, body=body))
    except CloudEventValidationError as exc:
        bad = sorted(exc.errors)
        raise ApiError(400, "invalid_event",
                       f"The CloudEvent has bad or missing attributes: {', '.join(bad)}.",
                       {"attributes": {name: [str(e) for e in errs]
                                       for name, errs in exc.errors.items()}}) from exc
    except (BaseCloudEventException, ValueError, KeyError, TypeError) as exc:
        raise ApiError(400, "invalid_event", f"The request is not a CloudEvent: {exc}.") from exc


def _task_id_of(event: Any) -> str:
    if event.get_type() != PROCESS_REQUESTED:
        raise ApiError(400, "unsupported_event_type",
                       f"The bridge does not consume events of type {event.get_type()!r}.",
                       {"attribute": "type", "allowed": [PROCESS_REQUESTED]})
    data = event.get_data()
    if not isinstance(data, dict) or not isinstance(data.get("task_id"), str):
        raise ApiError(400, "invalid_event_data",
                       "The event data must be a JSON object with a string 'task_id'.",
                       {"attribute": "data"})
    task_id: str = data["task_id"]
    return task_id


def _claim(context: AppContext, event: Any, task_id: str) -> bool:
    """Record the event before publishing its task; False when it was recorded before.

    The unique key on (source, id) makes this the one place where two deliveries of the same
    event, even at the same moment, are told apart: only the first inserts.
    """
    try:
        with context.engine.begin() as connection:
            connection.execute(insert(received_events).values(
                source=event.get_source(), event_id=event.get_id(), type=event.get_type(),
                task_id=task_id, received_at=utcnow()))
    except IntegrityError:
        return False
    return True


def _release(context: AppContext, event: Any) -> None:
    # The broker did not take the task: forget the event so that the Broker's retry publishes.
    with context.engine.begin() as connection:
        connection.execute(delete(received_events).where(
            received_events.c.source == event.get_source(),
            received_events.c.event_id == event.get_id()))


def handle_event(context: AppContext, headers: dict[str, str], body: bytes) -> JSONResponse:
    event = _parse(headers, body)
    task_id = _task_id_of(event)
    with context.engine.connect() as connection:
        task = get_task(connection, task_id)
    if task is None:
        raise ApiError(422, "unknown_task", f"No task has the id {task_id!r}.",
                       {"task_id": task_id})
    if task.state in ("done", "failed"):
        return JSONResponse({"status": "finished", "task_id": task_id}, status_code=200)

    if not _claim(context, event, task_id):
        logger.info("event %s from %s seen before; not queued again", event.get_id(),
                    event.get_source())
        return JSONResponse({"status": "duplicate", "task_id": task_id}, status_code=200)
    try:
        publish_process(context.celery, task_id)
    except (OperationalError, OSError, TimeoutError) as exc:
        _release(context, event)
        logger.warning("task %s not published, the Broker will retry: %s", task_id, exc)
        raise ApiError(503, "broker_unavailable", f"The message broker did not confirm: {exc}.",
                       {"task_id": task_id}) from exc
    with context.engine.begin() as connection:
        mark_dispatched(connection, task_id)
    logger.info("event %s queued task %s", event.get_id(), task_id)
    return JSONResponse({"status": "queued", "task_id": task_id}, status_code=202)


def _too_large(size: str) -> ApiError:
    # Closing the connection stops the sender from sending the rest of a body we will not read.
    return ApiError(413, "event_too_large",
                    f"Events carry ids only; {size} exceeds the limit of {_MAX_EVENT_BYTES} "
                    "bytes.", {"max_bytes": _MAX_EVENT_BYTES}, headers={"Connection": "close"})


@router.post("/", status_code=202, responses={
    200: {"description": "Seen before, or the task already finished; nothing queued"},
    202: {"description": "Queued and confirmed by the broker"},
    **error_responses(400, 413, 422, 503),
})
async def receive_event(request: Request) -> JSONResponse:
    """Receive a CloudEvent (binary or structured mode) and queue its task."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > _MAX_EVENT_BYTES:
        raise _too_large(f"{declared} bytes")
    body = await read_capped(request, _MAX_EVENT_BYTES,
                             _too_large(f"more than {_MAX_EVENT_BYTES} bytes"))
    headers = {key.lower(): value for key, value in request.headers.items()}
    return await run_in_threadpool(handle_event, get_context(request), headers, body)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service("KubeVision bridge", [router], settings=settings, check_broker=True)


app = create_app()
