"""The upload function: validates an image, stores it permanently and caches it for the worker."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Row
from starlette.concurrency import run_in_threadpool

from kubevision.blobs import content_key
from kubevision.context import AppContext
from kubevision.db.images import NewImage
from kubevision.errors import error_responses
from kubevision.imaging import clean_filename, inspect_image
from kubevision.presenters import image_public
from kubevision.schemas import ImagePublic
from kubevision.service import create_service, get_context
from kubevision.settings import Settings
from kubevision.storage import store_original
from kubevision.uploads import FILE_FIELD, ReceivedFile, read_upload

logger = logging.getLogger(__name__)
router = APIRouter(tags=["upload"])

_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "required": [FILE_FIELD],
                           "properties": {FILE_FIELD: {"type": "string", "format": "binary"}}}
            },
            "image/*": {"schema": {"type": "string", "format": "binary"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.post(
    "/upload",
    status_code=201,
    response_model=ImagePublic,
    openapi_extra=_BODY_DOC,
    responses={
        200: {"model": ImagePublic, "description": "The same bytes were uploaded before"},
        **error_responses(400, 413, 415, 422),
    },
)
async def upload_image(
    request: Request,
    filename: str | None = Query(None, description="Original name, for a raw-body upload"),
) -> JSONResponse:
    """Store an image (multipart field `file`, or the raw bytes) and return its record."""
    context = get_context(request)
    limits = context.settings.limits
    received = await read_upload(request, limits.max_upload_bytes, filename)
    row, created = await run_in_threadpool(store_upload, context, received)
    body = image_public(row).model_dump()
    headers = {"Location": f"/status/{row.id}"}
    return JSONResponse(body, status_code=201 if created else 200, headers=headers)


def store_upload(context: AppContext, received: ReceivedFile) -> tuple[Row[Any], bool]:
    """Validate and keep the bytes; the flag is False when the same bytes were kept before."""
    limits = context.settings.limits
    info = inspect_image(received.data, limits)
    sha256 = content_key(received.data)
    new_image = NewImage(
        sha256=sha256, filename=clean_filename(received.filename, limits.max_filename_chars),
        content_type=info.content_type, format=info.format, width=info.width,
        height=info.height, size_bytes=len(received.data),
    )
    row, created = store_original(context, new_image, received.data)
    if created:
        logger.info("image %s stored (%s, %d bytes)", row.id, info.format, len(received.data))
    return row, created


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service("KubeVision upload", [router], settings=settings)


app = create_app()
