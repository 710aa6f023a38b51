"""Any decodable image becomes upright 8-bit RGB, and models see the same photo in each form."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from kubevision.inference.normalize import to_upright_rgb
from kubevision.inference.registry import ModelSet
from tests.support import variants
from tests.support.photos import PhotoShelf

VARIANTS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "cmyk": variants.as_cmyk_jpeg,
    "16-bit grey": variants.as_16bit_grey,
    "16-bit rgb": variants.as_16bit_rgb_png,
    "palette with transparency": variants.as_palette_with_alpha,
    "rgba": variants.as_rgba_with_transparent_border,
    "greyscale": variants.as_greyscale,
    "animated": variants.as_animated_gif,
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_variant_becomes_8bit_rgb_of_the_same_size(photos: PhotoShelf, name: str) -> None:
    photo = photos.open("coffee.png")

    upright = to_upright_rgb(VARIANTS[name](photo))

    assert upright.mode == "RGB" and upright.size == photo.size


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_variant_keeps_the_top_label(
    model_set: ModelSet, photos: PhotoShelf, name: str
) -> None:
    photo = photos.open("coffee.png")

    result = model_set.run(VARIANTS[name](photo), ["classify"])["classify"]

    assert result.items[0].label == "espresso"


def test_16bit_values_are_scaled_not_clipped() -> None:
    ramp = (np.arange(256, dtype=np.uint16) * 257).reshape(16, 16)

    grey = np.asarray(to_upright_rgb(Image.fromarray(ramp)))[:, :, 0]

    assert grey.min() == 0 and grey.max() == 255
    assert len(np.unique(grey)) == 256


def test_alpha_is_composited_on_white() -> None:
    clear = Image.new("RGBA", (4, 4), (0, 0, 0, 0))

    assert to_upright_rgb(clear).getpixel((0, 0)) == (255, 255, 255)


def test_bilevel_becomes_black_and_white_rgb() -> None:
    bilevel = Image.new("1", (4, 2), 0)
    bilevel.putpixel((1, 1), 1)

    pixels = to_upright_rgb(bilevel)

    assert pixels.getpixel((0, 0)) == (0, 0, 0) and pixels.getpixel((1, 1)) == (255, 255, 255)


def test_animated_image_uses_its_first_frame(photos: PhotoShelf) -> None:
    photo = photos.open("coffee.png")
    animated = variants.as_animated_gif(photo)
    animated.seek(0)
    first = animated.convert("RGB")
    animated.seek(1)

    assert np.array_equal(np.asarray(to_upright_rgb(animated)), np.asarray(first))


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_is_applied(photos: PhotoShelf, orientation: int) -> None:
    photo = photos.open("chelsea.png").convert("RGB")

    upright = to_upright_rgb(variants.rotated_with_exif(photo, orientation))

    assert np.array_equal(np.asarray(upright), np.asarray(photo))


@pytest.mark.parametrize("size", [(1, 1), (2, 3), (5000, 2), (2, 5000)])
def test_tiny_and_elongated_images_run_every_task(
    model_set: ModelSet, size: tuple[int, int]
) -> None:
    image = Image.new("RGB", size, (90, 120, 200))

    results = model_set.run(image, ["classify", "detect", "faces", "ocr"])

    assert len(results["classify"].items) == 5
    for result in results.values():
        for item in result.items:
            if item.box:
                assert 0 <= item.box[0] <= item.box[2] <= size[0]


# A damaged EXIF block as cameras and editors sometimes write it, per format.
DAMAGED_EXIF = {"JPEG": b"Exif\x00\x00GARBAGEGARBAGE", "PNG": b"GARBAGEGARBAGE",
                "WEBP": b"GARBAGEGARBAGE"}


@pytest.mark.parametrize("fmt", sorted(DAMAGED_EXIF))
def test_a_damaged_exif_block_leaves_the_image_as_stored(fmt: str) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, fmt, exif=DAMAGED_EXIF[fmt])

    upright = to_upright_rgb(Image.open(io.BytesIO(buffer.getvalue())))

    assert upright.size == (40, 30)
    assert to_upright_rgb(upright).size == (40, 30)  # the worker normalises twice
