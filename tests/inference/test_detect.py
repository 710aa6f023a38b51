"""SSD MobileNet V2 on real photographs: the right objects, in the right places."""

from __future__ import annotations

import pytest

from kubevision.inference.registry import ModelSet
from kubevision.inference.results import Region
from tests.support.photos import PhotoShelf
from tests.support.variants import rotated_with_exif


def _labelled(items: list[Region], label: str) -> list[Region]:
    return [item for item in items if item.label == label]


def test_detect_bus_photo_finds_the_bus_and_pedestrians(
    model_set: ModelSet, photos: PhotoShelf
) -> None:
    image = photos.open("bus.jpg")

    items = model_set.run(image, ["detect"])["detect"].items

    buses = _labelled(items, "bus")
    people = _labelled(items, "person")
    assert len(buses) == 1 and 3 <= len(people) <= 5, items
    x1, y1, x2, y2 = buses[0].box or []
    # The bus fills the width of the photo and its middle third.
    assert x1 < 0.1 * image.width and x2 > 0.9 * image.width
    assert 0.1 * image.height < y1 < 0.35 * image.height < 0.6 * image.height < y2
    # The surest pedestrian stands at the left, in front of the bus.
    best = max(people, key=lambda item: item.score).box or []
    assert best[2] < 0.4 * image.width and best[3] > 0.75 * image.height


def test_detect_zidane_photo_finds_two_people(model_set: ModelSet, photos: PhotoShelf) -> None:
    image = photos.open("zidane.jpg")

    people = _labelled(model_set.run(image, ["detect"])["detect"].items, "person")

    assert len(people) == 2
    centres = sorted(((p.box or [])[0] + (p.box or [])[2]) / 2 for p in people)
    assert centres[0] < 0.5 * image.width < centres[1]


def test_detect_boxes_stay_inside_the_image(model_set: ModelSet, photos: PhotoShelf) -> None:
    image = photos.open("bus.jpg")

    for item in model_set.run(image, ["detect"])["detect"].items:
        x1, y1, x2, y2 = item.box or []
        assert 0 <= x1 < x2 <= image.width and 0 <= y1 < y2 <= image.height


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_detect_exif_rotated_photo_gives_the_same_boxes(
    model_set: ModelSet, photos: PhotoShelf, orientation: int
) -> None:
    upright = photos.open("bus.jpg")
    stored_rotated = rotated_with_exif(upright, orientation)

    expected = model_set.run(upright, ["detect"])["detect"].items
    actual = model_set.run(stored_rotated, ["detect"])["detect"].items

    assert [item.label for item in actual] == [item.label for item in expected]
    for got, want in zip(actual, expected, strict=True):
        assert got.box == pytest.approx(want.box, abs=1.0)
