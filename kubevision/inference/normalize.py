"""Turning any decoded image into the upright 8-bit RGB picture every model starts from."""

from __future__ import annotations

import numpy as np
from PIL import Image

from kubevision.imaging import upright as upright_image

# Pillow's modes for one channel deeper than 8 bits; each is scaled, never clipped, to 8 bits.
_DEEP_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I", "F"}
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
_WHITE = (255, 255, 255)


def to_upright_rgb(image: Image.Image) -> Image.Image:
    """An 8-bit RGB copy of the image's first frame with its EXIF orientation applied.

    Boxes that models report are in this picture's pixels, so a photo saved rotated with an
    orientation tag and the same photo saved upright give the same coordinates.
    """
    frame = _first_frame(image)
    upright = upright_image(frame)

    if upright.mode in _DEEP_MODES:
        upright = _deep_to_grey(upright)
    elif upright.mode == "CMYK":
        # CMYK has no alpha; a conversion through RGB is what every viewer shows.
        upright = upright.convert("RGB")
    if _has_alpha(upright):
        upright = _flatten_on_white(upright)
    return upright if upright.mode == "RGB" else upright.convert("RGB")


def _first_frame(image: Image.Image) -> Image.Image:
    # Animated GIF/WebP and multi-page TIFF: the first frame stands for the whole file.
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)
        frame = image.copy()
        # Keep the EXIF orientation that belongs to the file, not to the copied frame.
        frame.info.update(image.info)
        return frame
    return image


def _deep_to_grey(image: Image.Image) -> Image.Image:
    values = np.asarray(image)
    if values.dtype.kind == "f":
        low, high = float(np.nanmin(values)), float(np.nanmax(values))
        # Floats in [0, 1] are intensities; anything else is stretched over its own range.
        if low >= 0.0 and high <= 1.0:
            scaled = values * 255.0
        else:
            scaled = (values - low) * (255.0 / max(high - low, 1e-12))
    else:
        # 16-bit data is 0..65535 whatever its container; wider integers use their maximum.
        top = 65535.0 if values.max(initial=0) <= 65535 else float(values.max())
        scaled = np.clip(values, 0, None) * (255.0 / top)
    return Image.fromarray(np.rint(np.nan_to_num(scaled)).astype(np.uint8))


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in _ALPHA_MODES or (
        image.mode in {"P", "L", "RGB"} and "transparency" in image.info
    )


def _flatten_on_white(image: Image.Image) -> Image.Image:
    # Transparent pixels often hold black or junk colour; on white they look as a viewer shows.
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (*_WHITE, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")
