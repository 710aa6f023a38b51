"""Resizing photos to a model's input size: Pillow's box reduction, then OpenCV.

Pillow's resampling filters widen with the reduction factor, so a 12-megapixel photo costs
tens of milliseconds per model, and turning the whole photo into an array costs as much again.
Instead the photo is first shrunk by a whole factor with ``Image.reduce`` (an area average,
so anti-aliased, and fast), and only that small image becomes an array for OpenCV's bilinear
or cubic resize of the last, less than twofold, step.
"""

from __future__ import annotations

import numpy as np

try:
    import cv2
except ImportError as exc:  # the HTTP functions' images do not carry OpenCV
    raise ImportError(
        "the worker needs OpenCV: pip install 'kubevision[worker]' (or 'kubevision[gpu]')"
    ) from exc
from PIL import Image

from kubevision.inference.session import cpu_limit

# OpenCV sizes its pool by the host's cores, like ONNX Runtime; both must fit the real quota.
cv2.setNumThreads(cpu_limit())

Box = tuple[float, float, float, float]


def resize_rgb(image: Image.Image, size: tuple[int, int], box: Box | None = None) -> np.ndarray:
    """``image`` (or its ``box`` region, in pixels) resized to ``size`` (width, height).

    Returns a uint8 height x width x 3 array.
    """
    if box is not None:
        left, top, right, bottom = (round(value) for value in box)
        image = image.crop((left, top, max(right, left + 1), max(bottom, top + 1)))
    if image.mode != "RGB":
        image = image.convert("RGB")

    width, height = size
    factor = min(image.width // width, image.height // height)
    if factor >= 2:
        image = image.reduce(factor)
    pixels = np.asarray(image)
    if (image.width, image.height) == (width, height):
        return pixels

    shrinking = image.width >= width and image.height >= height
    method = cv2.INTER_LINEAR if shrinking else cv2.INTER_CUBIC
    resized: np.ndarray = cv2.resize(pixels, (width, height), interpolation=method)
    return resized
