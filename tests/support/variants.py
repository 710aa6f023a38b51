"""The same photograph stored in other ways: rotated with an EXIF tag, other modes, frames."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

# EXIF orientation value -> the transpose that stores an upright picture that way.
STORED_AS = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
}
ORIENTATION_TAG = 0x0112


def reopen(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def rotated_with_exif(upright: Image.Image, orientation: int) -> Image.Image:
    """The picture stored rotated, with the EXIF tag that tells a viewer to turn it back."""
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = orientation
    buffer = io.BytesIO()
    # PNG keeps the pixels exact, so only the orientation differs from the original.
    upright.transpose(STORED_AS[orientation]).save(buffer, "PNG", exif=exif)
    return reopen(buffer.getvalue())


def as_cmyk_jpeg(image: Image.Image) -> Image.Image:
    buffer = io.BytesIO()
    image.convert("CMYK").save(buffer, "JPEG", quality=95)
    return reopen(buffer.getvalue())


def as_16bit_grey(image: Image.Image) -> Image.Image:
    grey = np.asarray(image.convert("L"), dtype=np.uint16) * 257
    buffer = io.BytesIO()
    Image.fromarray(grey).save(buffer, "PNG")
    return reopen(buffer.getvalue())


def as_16bit_rgb_png(image: Image.Image) -> Image.Image:
    """A 48-bit PNG written by hand: Pillow reads such files but cannot write them."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.uint16) * 257
    height, width, _ = pixels.shape
    rows = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in pixels)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
    return reopen(data + chunk(b"IEND", b""))


def as_palette_with_alpha(image: Image.Image) -> Image.Image:
    buffer = io.BytesIO()
    image.convert("RGB").quantize(256).save(buffer, "PNG", transparency=0)
    return reopen(buffer.getvalue())


def as_rgba_with_transparent_border(image: Image.Image) -> Image.Image:
    rgba = image.convert("RGBA")
    alpha = Image.new("L", rgba.size, 0)
    alpha.paste(255, (8, 8, rgba.width - 8, rgba.height - 8))
    rgba.putalpha(alpha)
    buffer = io.BytesIO()
    rgba.save(buffer, "PNG")
    return reopen(buffer.getvalue())


def as_greyscale(image: Image.Image) -> Image.Image:
    return image.convert("L")


def as_animated_gif(image: Image.Image) -> Image.Image:
    """A GIF whose first frame is the photo and whose second is noise."""
    noise = Image.effect_noise(image.size, 80).convert("RGB")
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "GIF", save_all=True, append_images=[noise], duration=100)
    animated = Image.open(io.BytesIO(buffer.getvalue()))
    animated.seek(1)  # leave it on the wrong frame, as a decoder may after reading
    return animated
