"""Keeping bytes and rows in step: storing originals, reading through the cache, making
thumbnails once, and deleting an image with every blob only it pointed at.

The order of writes is what keeps a record from ever pointing at missing bytes: the blob is
written before the row that points at it, and deleted only after the last row pointing at it
is gone, both under the per-hash lock of :mod:`kubevision.db.content`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Row

from kubevision.blobs import content_key
from kubevision.context import AppContext
from kubevision.db.content import lock_content, reference_count
from kubevision.db.derivatives import NewDerivative, get_derivative, insert_derivative
from kubevision.db.images import NewImage, delete_image_rows, get_image, insert_or_get_image
from kubevision.thumbnails import THUMB, THUMB_CONTENT_TYPE, make_thumbnail

logger = logging.getLogger(__name__)


class ImageGone(LookupError):
    """The image was deleted while we were working on it."""

    def __init__(self, image_id: str) -> None:
        super().__init__(f"image {image_id!r} no longer exists")
        self.image_id = image_id


def store_original(context: AppContext, image: NewImage, data: bytes) -> tuple[Row[Any], bool]:
    """Keep the bytes (blob store and cache) and the record; the flag is True for new bytes."""
    with context.engine.begin() as connection:
        lock_content(connection, [image.sha256])
        # The permanent copy first: a record must never point at bytes that were not kept.
        context.blobs.put(image.sha256, data)
        row, created = insert_or_get_image(connection, image)
    context.cache.put(image.sha256, data)
    return row, created


def read_bytes(context: AppContext, sha256: str) -> bytes:
    """The blob's bytes: from Redis when it has them, else from the blob store (then cached)."""
    return context.cache.read_through(sha256, context.blobs.get)


def thumbnail_of(context: AppContext, image: Row[Any]) -> Row[Any]:
    """The thumbnail's record, made now if this is the first request for it."""
    with context.engine.connect() as connection:
        existing = get_derivative(connection, image.id, THUMB)
    if existing is not None:
        return existing

    thumb = make_thumbnail(read_bytes(context, image.sha256))
    sha256 = content_key(thumb.data)
    with context.engine.begin() as connection:
        lock_content(connection, [sha256])
        context.blobs.put(sha256, thumb.data)
        row = insert_derivative(connection, NewDerivative(
            image_id=image.id, kind=THUMB, sha256=sha256, content_type=THUMB_CONTENT_TYPE,
            width=thumb.width, height=thumb.height, size_bytes=len(thumb.data)))
    if row is None:
        release_blobs(context, [sha256])
        raise ImageGone(image.id)
    context.cache.put(sha256, thumb.data)
    logger.info("image %s: thumbnail %dx%d made", image.id, thumb.width, thumb.height)
    return row


def delete_image(context: AppContext, image_id: str) -> bool:
    """Delete the image's rows, then every blob and cache entry only it pointed at.
    False when there is no such image."""
    with context.engine.begin() as connection:
        hashes = delete_image_rows(connection, image_id)
    if hashes is None:
        return False
    released = release_blobs(context, hashes)
    logger.info("image %s deleted; %d of its %d blobs released", image_id, len(released),
                len(hashes))
    return True


def release_blobs(context: AppContext, hashes: Iterable[str]) -> list[str]:
    """Delete the blobs (and cache entries) no row points at any more; returns those deleted."""
    released: list[str] = []
    with context.engine.begin() as connection:
        lock_content(connection, hashes)
        for sha256 in sorted(set(hashes)):
            # Another image with the same bytes, or the same thumbnail, keeps the blob alive.
            if reference_count(connection, sha256) == 0:
                context.blobs.delete(sha256)
                released.append(sha256)
    for sha256 in released:
        context.cache.delete(sha256)
    return released


def image_record(context: AppContext, image_id: str) -> Row[Any] | None:
    with context.engine.connect() as connection:
        return get_image(connection, image_id)


def image_exists(context: AppContext, image_id: str) -> bool:
    return image_record(context, image_id) is not None
