"""Thumbnails: upright, bounded, and made even when the EXIF block is damaged."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from kubevision.thumbnails import THUMB_PX, make_thumbnail


def _saved(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def test_thumbnail_fits_the_bound_and_keeps_the_aspect() -> None:
    thumbnail = make_thumbnail(_saved(Image.new("RGB", (1000, 500)), "PNG"))

    assert (thumbnail.width, thumbnail.height) == (THUMB_PX, THUMB_PX // 2)
    assert Image.open(io.BytesIO(thumbnail.data)).format == "WEBP"


@pytest.mark.parametrize(("fmt", "exif"), [("JPEG", b"Exif\x00\x00GARBAGEGARBAGE"),
                                           ("PNG", b"GARBAGEGARBAGE"),
                                           ("WEBP", b"GARBAGEGARBAGE")])
def test_a_damaged_exif_block_still_gives_a_thumbnail(fmt: str, exif: bytes) -> None:
    thumbnail = make_thumbnail(_saved(Image.new("RGB", (40, 30)), fmt, exif=exif))

    assert (thumbnail.width, thumbnail.height) == (40, 30)
