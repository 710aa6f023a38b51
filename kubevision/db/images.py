"""Reading and writing image records."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from kubevision.clock import utcnow
from kubevision.db.schema import images
from kubevision.ids import new_id


@dataclass(frozen=True)
class NewImage:
    sha256: str
    filename: str | None
    content_type: str
    format: str
    width: int
    height: int
    size_bytes: int


def insert_or_get_image(connection: Connection, image: NewImage) -> tuple[Row[Any], bool]:
    """Insert the image, or return the one with the same bytes; the flag says it was new."""
    existing = get_image_by_hash(connection, image.sha256)
    if existing is not None:
        return existing, False

    now = utcnow()
    values = dict(id=new_id(), status="uploaded", created_at=now, updated_at=now,
                  **image.__dict__)
    try:
        with connection.begin_nested():
            connection.execute(insert(images).values(**values))
    except IntegrityError:
        # Another request stored the same bytes between our look-up and our insert.
        raced = get_image_by_hash(connection, image.sha256)
        assert raced is not None
        return raced, False
    row = get_image(connection, values["id"])
    assert row is not None
    return row, True


def get_image(connection: Connection, image_id: str) -> Row[Any] | None:
    return connection.execute(select(images).where(images.c.id == image_id)).first()


def get_image_by_hash(connection: Connection, sha256: str) -> Row[Any] | None:
    return connection.execute(select(images).where(images.c.sha256 == sha256)).first()


def set_image_status(
    connection: Connection, image_id: str, status: str, task_id: str | None = None
) -> None:
    values: dict[str, Any] = {"status": status, "updated_at": utcnow()}
    if task_id is not None:
        values["latest_task_id"] = task_id
    connection.execute(update(images).where(images.c.id == image_id).values(**values))


def encode_cursor(created_at: datetime, image_id: str) -> str:
    raw = f"{created_at.isoformat()}|{image_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Raise ValueError for a cursor this server did not make."""
    padded = cursor + "=" * (-len(cursor) % 4)
    created, image_id = base64.urlsafe_b64decode(padded).decode().split("|", 1)
    return datetime.fromisoformat(created), image_id


def list_images(
    connection: Connection, *, limit: int, status: str | None, cursor: str | None
) -> tuple[list[Row[Any]], str | None]:
    """One page, newest first, and the cursor of the next page (None on the last one)."""
    query = select(images).order_by(images.c.created_at.desc(), images.c.id.desc())
    if status is not None:
        query = query.where(images.c.status == status)
    if cursor is not None:
        created_at, image_id = decode_cursor(cursor)
        query = query.where(
            or_(images.c.created_at < created_at,
                and_(images.c.created_at == created_at, images.c.id < image_id))
        )

    rows = list(connection.execute(query.limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor(last.created_at, last.id)
