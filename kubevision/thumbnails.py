"""Thumbnails: the image upright (EXIF orientation applied), at most 256 px a side, as WebP."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from kubevision.imaging import upright

THUMB = "thumb"
THUMB_PX = 256
THUMB_CONTENT_TYPE = "image/webp"


@dataclass(frozen=True)
class Thumbnail:
    data: bytes
    width: int
    height: int


def make_thumbnail(data: bytes, size_px: int = THUMB_PX) -> Thumbnail:
    """The thumbnail of an image's bytes; the same bytes always give the same thumbnail."""
    with Image.open(io.BytesIO(data)) as original:
        # Shrink while decoding where the format can (JPEG does at 1/2..1/8), before rotating.
        original.draft("RGB", (size_px, size_px))
        image = upright(original)
        image = image.convert("RGBA" if _has_alpha(image) else "RGB")
        image.thumbnail((size_px, size_px), Image.Resampling.LANCZOS)

    buffer = io.BytesIO()
    # No EXIF is written: the pixels are already upright, and metadata could leak location.
    image.save(buffer, "WEBP", quality=80, method=4)
    return Thumbnail(data=buffer.getvalue(), width=image.width, height=image.height)


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
