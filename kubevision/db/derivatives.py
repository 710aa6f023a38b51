"""Records of derived images (thumbnails): one per image and kind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, insert, select
from sqlalchemy.exc import IntegrityError

from kubevision.clock import utcnow
from kubevision.db.schema import derivatives


@dataclass(frozen=True)
class NewDerivative:
    image_id: str
    kind: str
    sha256: str
    content_type: str
    width: int
    height: int
    size_bytes: int


def get_derivative(connection: Connection, image_id: str, kind: str) -> Row[Any] | None:
    return connection.execute(
        select(derivatives).where(derivatives.c.image_id == image_id,
                                  derivatives.c.kind == kind)
    ).first()


def insert_derivative(connection: Connection, derivative: NewDerivative) -> Row[Any] | None:
    """Record the derived image, or return the one recorded first; None if the image is gone."""
    try:
        with connection.begin_nested():
            connection.execute(insert(derivatives).values(created_at=utcnow(),
                                                          **derivative.__dict__))
    except IntegrityError:
        # Either another request made it first (the row is there), or the image was deleted
        # meanwhile (the foreign key refused it, and there is no row).
        pass
    return get_derivative(connection, derivative.image_id, derivative.kind)
