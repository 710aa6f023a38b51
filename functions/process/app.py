"""The process function: records a processing task and announces it as a CloudEvent."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Body, FastAPI, Header, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Row

from kubevision.context import AppContext
from kubevision.db.images import get_image
from kubevision.db.tasks import (
    IdempotencyKeyReused,
    TaskRequest,
    create_or_reuse_task,
    mark_dispatched,
)
from kubevision.errors import ApiError, error_responses
from kubevision.events import PROCESS_REQUESTED, SinkUnavailable, make_event
from kubevision.inference.results import TaskOptions
from kubevision.inference.tasks import TASK_NAMES
from kubevision.live import publish_status
from kubevision.presenters import task_links
from kubevision.schemas import ProcessAccepted
from kubevision.service import create_service, get_context
from kubevision.settings import Settings

logger = logging.getLogger(__name__)
router = APIRouter(tags=["process"])

SOURCE = "/kubevision/process"


class ProcessRequest(BaseModel):
    """Which models to run and how; every field is optional."""

    # A misspelt field ("task" for "tasks") must be refused, not run every model.
    model_config = ConfigDict(extra="forbid")

    tasks: list[str] = Field(default_factory=lambda: list(TASK_NAMES), min_length=1,
                             description=f"Any of {', '.join(TASK_NAMES)}; default: all")
    options: dict[str, TaskOptions] = Field(
        default_factory=dict, description="Per-task options, keyed by task name")
    force: bool = Field(False, description="Run again even if an identical task exists")

    @field_validator("tasks")
    @classmethod
    def _known_tasks(cls, tasks: list[str]) -> list[str]:
        unknown = [name for name in tasks if name not in TASK_NAMES]
        if unknown:
            raise ValueError(f"unknown task(s) {unknown}; allowed: {list(TASK_NAMES)}")
        return sorted(set(tasks), key=TASK_NAMES.index)

    @field_validator("options")
    @classmethod
    def _known_option_keys(cls, options: dict[str, TaskOptions]) -> dict[str, TaskOptions]:
        unknown = [name for name in options if name not in TASK_NAMES]
        if unknown:
            raise ValueError(f"options for unknown task(s) {unknown}; allowed: {list(TASK_NAMES)}")
        return options


def fingerprint(image_id: str, request: ProcessRequest) -> str:
    """Identical requests for one image share this hash, whatever order their keys came in."""
    options = {name: opts.model_dump(exclude_none=True)
               for name, opts in request.options.items() if name in request.tasks}
    canonical = json.dumps({"image": image_id, "tasks": request.tasks, "options": options},
                           sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@router.post(
    "/process/{image_id}",
    status_code=202,
    response_model=ProcessAccepted,
    responses={
        200: {"model": ProcessAccepted, "description": "An identical earlier task"},
        **error_responses(404, 422, 503),
    },
)
def process_image(
    request: Request,
    background: BackgroundTasks,
    image_id: str = Path(max_length=64),
    body: ProcessRequest | None = Body(None),
    idempotency_key: str | None = Header(None, max_length=255),
) -> JSONResponse:
    """Queue processing of an image; identical requests return the same task."""
    context = get_context(request)
    body = body or ProcessRequest()
    task_request = TaskRequest(
        image_id=image_id, models=body.tasks,
        options={name: opts.model_dump(exclude_none=True) for name, opts in body.options.items()},
        fingerprint=fingerprint(image_id, body),
        max_attempts=context.settings.task.max_attempts,
    )

    with context.engine.begin() as connection:
        if get_image(connection, image_id) is None:
            raise ApiError(404, "image_not_found", f"No image has the id {image_id!r}.",
                           {"image_id": image_id})
        try:
            task, created = create_or_reuse_task(connection, task_request,
                                                 idempotency_key=idempotency_key,
                                                 force=body.force)
        except IdempotencyKeyReused as exc:
            raise ApiError(422, "idempotency_key_reused", str(exc),
                           {"idempotency_key": exc.key}) from exc

    if created:
        publish_status(context.cache.client, image_id, task.id, "queued")
    if task.state == "queued" and task.dispatched_at is None:
        _announce(context, task, background)

    accepted = ProcessAccepted(task_id=task.id, image_id=image_id, state=task.state,
                               created=created, models=task.models, links=task_links(task))
    return JSONResponse(accepted.model_dump(), status_code=202 if created else 200,
                        headers={"Location": f"/task/{task.id}"})


def _announce(context: AppContext, task: Row[Any], background: BackgroundTasks) -> None:
    event = make_event(
        PROCESS_REQUESTED, source=SOURCE, subject=task.image_id,
        data={"task_id": task.id, "image_id": task.image_id, "models": task.models},
    )
    try:
        context.events.send(event)
    except SinkUnavailable as exc:
        logger.warning("task %s recorded but not announced: %s", task.id, exc)
        # The task stays queued; the reaper announces it again, and so does a retried request.
        raise ApiError(503, "queue_unavailable",
                       "The task is recorded but could not be queued yet; retry the request "
                       "(it returns the same task).", {"task_id": task.id}) from exc
    # Recorded after the response: the client need not wait for it, and the bridge records the
    # same moment when it publishes the task.
    background.add_task(_record_dispatched, context, task.id)
    logger.info("task %s for image %s announced as event %s", task.id, task.image_id,
                event.get_id())


def _record_dispatched(context: AppContext, task_id: str) -> None:
    with context.engine.begin() as connection:
        mark_dispatched(connection, task_id)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service("KubeVision process", [router], settings=settings)


app = create_app()
