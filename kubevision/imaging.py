"""Upload validation: what the bytes really are, how big they decode, and whether they decode.

The format is sniffed from the leading bytes (the client's extension and Content-Type are not
trusted), the pixel count is read from the header before any decoding, and only then is the
whole image decoded once to prove it is complete.
"""

from __future__ import annotations

import io
import logging
import re
import struct
import threading
import unicodedata
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from kubevision.errors import ApiError
from kubevision.settings import Limits

logger = logging.getLogger(__name__)

# Our own pixel check runs first and names the limit; Pillow's bomb guard would only get in
# the way with a less helpful message.
Image.MAX_IMAGE_PIXELS = None

CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "TIFF": "image/tiff",
    "BMP": "image/bmp",
}

# Image formats we recognise but do not accept, so the refusal can say what the file is.
_OTHER_IMAGE_SIGNATURES = (
    (b"\x00\x00\x01\x00", "ICO"),
    (b"8BPS", "PSD"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG2000"),
    (b"\xff\x4f\xff\x51", "JPEG2000"),
    (b"\xff\x0a", "JXL"),
    (b"%PDF", "PDF"),
    (b"<svg", "SVG"),
    (b"<?xml", "SVG"),
)


@dataclass(frozen=True)
class ImageInfo:
    format: str
    content_type: str
    width: int
    height: int


def sniff_format(data: bytes) -> str | None:
    """The image format the leading bytes announce, or None if they announce none we know."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if data[:2] == b"BM" and len(data) > 14:
        return "BMP"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"avif", b"avis"):
        return "AVIF" if data[8:11] == b"avi" else "HEIC"
    for signature, name in _OTHER_IMAGE_SIGNATURES:
        if data.startswith(signature):
            return name
    return None


def inspect_image(data: bytes, limits: Limits) -> ImageInfo:
    """Check the bytes are a complete image we accept; raise ApiError naming the problem."""
    allowed = limits.formats
    if not data:
        raise ApiError(400, "empty_file", "The uploaded file is empty.")

    fmt = sniff_format(data)
    if fmt is None:
        raise ApiError(415, "not_an_image",
                       f"The file is not an image. Accepted formats: {', '.join(allowed)}.",
                       {"allowed_formats": allowed})
    if fmt not in allowed or fmt not in CONTENT_TYPES:
        raise ApiError(415, "unsupported_format",
                       f"{fmt} images are not accepted. Accepted formats: {', '.join(allowed)}.",
                       {"format": fmt, "allowed_formats": allowed})

    try:
        image = Image.open(io.BytesIO(data), formats=[fmt])
        width, height = image.size
    except (OSError, SyntaxError, ValueError) as exc:
        # Pillow's "cannot identify image file <_io.BytesIO object at 0x...>" names our buffer,
        # not the problem.
        reason = "it is damaged" if isinstance(exc, UnidentifiedImageError) else str(exc)
        raise ApiError(422, "corrupt_image",
                       f"The {fmt} header cannot be read: {reason}.", {"format": fmt}) from exc

    pixels = width * height
    if pixels > limits.max_pixels:
        raise ApiError(413, "too_many_pixels",
                       f"The image has {width}x{height} = {pixels} pixels; the limit is "
                       f"{limits.max_pixels}.",
                       {"width": width, "height": height, "max_pixels": limits.max_pixels})

    with _decode_slot(limits.decode_slots):
        _check_decodes(image, fmt)
    return ImageInfo(format=fmt, content_type=CONTENT_TYPES[fmt], width=width, height=height)


_slots: dict[int, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def _decode_slot(count: int) -> threading.BoundedSemaphore:
    with _slots_lock:
        return _slots.setdefault(count, threading.BoundedSemaphore(count))


def _check_decodes(image: Image.Image, fmt: str) -> None:
    if fmt == "JPEG":
        # Decoding at 1/8 scale still reads every entropy-coded byte, so truncation and
        # corruption are found at a fraction of the cost of a full decode.
        image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Warning) as exc:
        raise ApiError(422, "corrupt_image",
                       f"The {fmt} image is truncated or corrupt: {exc}.",
                       {"format": fmt}) from exc
    finally:
        image.close()


def upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says; as stored when that tag cannot be read.

    A photo with a damaged EXIF block is still a photo: a broken tag must cost its rotation,
    not the image's thumbnail or its processing.
    """
    try:
        return ImageOps.exif_transpose(image) or image
    except (SyntaxError, ValueError, TypeError, OSError, KeyError, struct.error) as exc:
        logger.warning("EXIF orientation unreadable, image left as stored: %s", exc)
        image.info.pop("exif", None)
        return image


_UNSAFE_FILENAME_CHARS = re.compile(r"[\x00-\x1f\x7f<>:\"|?*]")


def clean_filename(name: str | None, max_chars: int) -> str | None:
    """The client's filename reduced to a harmless label: no directories, no control or
    invisible format characters, normalised Unicode, bounded length. It is metadata only,
    never a path."""
    if not name:
        return None
    base = re.split(r"[\\/]", name)[-1]
    base = unicodedata.normalize("NFC", base)
    # Format characters (category Cf) draw nothing but can reorder what is drawn: U+202E
    # shows "evil\u202egnp.exe" as "evilexe.png". Line and paragraph separators go too.
    base = "".join(char for char in base
                   if unicodedata.category(char) not in ("Cf", "Zl", "Zp"))
    base = _UNSAFE_FILENAME_CHARS.sub("", base).strip().strip(".")
    if not base:
        return None
    if len(base) > max_chars:
        stem, dot, ext = base.rpartition(".")
        keep = ext if dot and len(ext) <= 10 else ""
        base = base[: max_chars - len(keep) - 1] + "." + keep if keep else base[:max_chars]
    return base
