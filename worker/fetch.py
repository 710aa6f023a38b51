"""Fetching a task's image: Redis first, the blob store behind it, and what each failure means.

A missing record means the image was deleted while its task waited or ran: the task ends
quietly (:class:`ImageDeleted`). A record whose bytes are gone or damaged cannot be fixed by
another attempt: a permanent failure. A blob store that does not answer is temporary: the
error passes through, and the task is tried again.
"""

from __future__ import annotations

from kubevision.blobs import BlobCorrupt, BlobNotFound
from kubevision.context import AppContext
from kubevision.storage import image_exists, image_record, read_bytes


class PermanentFailure(Exception):
    """A failure that another attempt cannot fix (the image does not decode, it is gone)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ImageDeleted(PermanentFailure):
    """The image was deleted; its task went with it, so there is nothing left to record."""

    def __init__(self, image_id: str) -> None:
        super().__init__("image_deleted", f"image {image_id} was deleted")
        self.image_id = image_id


def fetch_image_bytes(context: AppContext, image_id: str) -> bytes:
    """The image's original bytes, or one of the failures above."""
    image = image_record(context, image_id)
    if image is None:
        raise ImageDeleted(image_id)
    try:
        return read_bytes(context, image.sha256)
    except BlobNotFound as exc:
        # Deletion removes the record first, then the blob: a missing blob whose record is
        # also gone now is a deletion that happened during our read.
        if not image_exists(context, image_id):
            raise ImageDeleted(image_id) from exc
        raise PermanentFailure("image_unavailable", str(exc)) from exc
    except BlobCorrupt as exc:
        raise PermanentFailure("image_damaged", str(exc)) from exc
