"""The status function: image records, their bytes, task details and the image list."""

from __future__ import annotations

import binascii
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import Row

from functions.status import events, webui
from kubevision.blobs import BlobNotFound, BlobUnavailable
from kubevision.context import AppContext
from kubevision.db.images import get_image, list_images
from kubevision.db.tasks import get_task, latest_task_for_image
from kubevision.errors import ApiError, error_responses
from kubevision.presenters import image_public, task_public, task_summary
from kubevision.schemas import ImagePage, ImageStatus, StatusPublic, TaskPublic
from kubevision.service import create_service, get_context
from kubevision.settings import Settings
from kubevision.storage import ImageGone, delete_image, read_bytes, thumbnail_of

logger = logging.getLogger(__name__)
router = APIRouter(tags=["status"])

# An image id always names the same bytes, so clients may keep them for good.
_IMMUTABLE = "public, max-age=31536000, immutable"


def _not_found(image_id: str) -> ApiError:
    return ApiError(404, "image_not_found", f"No image has the id {image_id!r}.",
                    {"image_id": image_id})


def _image_or_404(context: AppContext, image_id: str) -> Row[Any]:
    with context.engine.connect() as connection:
        row = get_image(connection, image_id)
    if row is None:
        raise _not_found(image_id)
    return row


@router.get("/status/{image_id}", response_model=StatusPublic,
            responses=error_responses(404))
def read_status(request: Request, image_id: str = Path(max_length=64)) -> StatusPublic:
    """The image's status and its latest task."""
    context = get_context(request)
    with context.engine.connect() as connection:
        image = get_image(connection, image_id)
        if image is None:
            raise _not_found(image_id)
        task = latest_task_for_image(connection, image_id)
    return StatusPublic(image_id=image.id, status=image.status, image=image_public(image),
                        latest_task=task_summary(task) if task is not None else None)


class ImageSize(StrEnum):
    ORIGINAL = "original"
    THUMB = "thumb"


@router.get(
    "/image/{image_id}",
    response_class=Response,
    responses={
        200: {"content": {"image/*": {}},
              "description": "The original bytes, or the 256 px WebP thumbnail"},
        304: {"description": "The client's copy (If-None-Match) is current"},
        **error_responses(404, 503),
    },
)
def read_image(
    request: Request,
    image_id: str = Path(max_length=64),
    size: Annotated[ImageSize, Query(
        description="`thumb`: upright, at most 256 px a side, WebP")] = ImageSize.ORIGINAL,
    if_none_match: str | None = Header(None),
) -> Response:
    """The original bytes (or the thumbnail) with Content-Type, ETag and Cache-Control."""
    context = get_context(request)
    image = _image_or_404(context, image_id)
    stored = image
    if size is ImageSize.THUMB:
        with _blob_errors(image_id):
            try:
                stored = thumbnail_of(context, image)
            except ImageGone as exc:
                raise _not_found(image_id) from exc

    # The ETag is the content hash: strong, and the same on every replica.
    etag = f'"{stored.sha256}"'
    headers = {"ETag": etag, "Cache-Control": _IMMUTABLE, "X-Content-Type-Options": "nosniff"}
    if if_none_match is not None and _etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)

    with _blob_errors(image_id):
        data = read_bytes(context, stored.sha256)
    return Response(content=data, media_type=stored.content_type, headers=headers)


@contextmanager
def _blob_errors(image_id: str) -> Iterator[None]:
    """Blob store failures as answers: missing bytes are a 404, an unreachable store a 503."""
    try:
        yield
    except BlobNotFound as exc:
        logger.error("image %s has a record but its blob %s is missing", image_id, exc.key)
        raise ApiError(404, "image_bytes_missing",
                       f"The bytes of image {image_id!r} are missing from the store.") from exc
    except BlobUnavailable as exc:
        raise ApiError(503, "blob_store_unavailable",
                       "The blob store did not answer; try again shortly.",
                       headers={"Retry-After": "5"}) from exc


@router.delete(
    "/image/{image_id}",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "Deleted, with its tasks, thumbnail and unshared bytes"},
               **error_responses(404)},
)
def remove_image(request: Request, image_id: str = Path(max_length=64)) -> Response:
    """Delete the image, its tasks and results, its thumbnail and its bytes unless shared."""
    if not delete_image(get_context(request), image_id):
        raise _not_found(image_id)
    return Response(status_code=204)


def _etag_matches(if_none_match: str, etag: str) -> bool:
    # If-None-Match uses the weak comparison (RFC 9110, 13.1.2): W/ prefixes are ignored.
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


@router.get("/images", response_model=ImagePage, responses=error_responses(422))
def read_images(
    request: Request,
    limit: int = Query(20, ge=1, le=100, description="Page size"),
    status: ImageStatus | None = Query(None, description="Only images in this status"),
    cursor: str | None = Query(None, max_length=200, description="From `next_cursor`"),
) -> ImagePage:
    """Images, newest first, one page at a time."""
    context = get_context(request)
    try:
        with context.engine.connect() as connection:
            rows, next_cursor = list_images(connection, limit=limit, status=status,
                                            cursor=cursor)
    except (ValueError, binascii.Error) as exc:
        raise ApiError(422, "invalid_cursor", f"The cursor {cursor!r} was not made by this "
                       "server; use `next_cursor` from a previous page.",
                       {"cursor": cursor}) from exc

    links = {"self": str(request.url.include_query_params())}
    if next_cursor is not None:
        links["next"] = str(request.url.include_query_params(cursor=next_cursor))
    return ImagePage(items=[image_public(row) for row in rows], next_cursor=next_cursor,
                     links=links)


@router.get("/task/{task_id}", response_model=TaskPublic, responses=error_responses(404))
def read_task(request: Request, task_id: str = Path(max_length=64)) -> TaskPublic:
    """One task: state, timings, attempts, models, results or error, and its history."""
    context = get_context(request)
    with context.engine.connect() as connection:
        task = get_task(connection, task_id)
        if task is None:
            raise ApiError(404, "task_not_found", f"No task has the id {task_id!r}.",
                           {"task_id": task_id})
        return task_public(connection, task)


# The API, the live stream and the web UI that reads them, all on one origin.
routers = [router, events.router, webui.router]


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service("KubeVision status", routers, settings=settings)


app = create_app()
