"""PP-OCRv4 with our DB post-processing and CTC decoding, on a photographed book page."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from kubevision.inference.ocr import ctc_decode
from kubevision.inference.registry import ModelSet
from kubevision.inference.textboxes import connected_runs, find_text_boxes, min_area_rect
from tests.support.photos import PhotoShelf


def test_ocr_page_reads_the_heading_first(model_set: ModelSet, photos: PhotoShelf) -> None:
    result = model_set.run(photos.open("page.png"), ["ocr"])["ocr"]

    assert result.text is not None
    lines = result.text.splitlines()
    assert lines[0] == "Region-based segmentation"
    assert "Let us first determine markers of the coins" in lines[1]
    assert any("unambiguously as either object or background" in line for line in lines)


def test_ocr_page_lines_are_boxed_top_to_bottom(model_set: ModelSet, photos: PhotoShelf) -> None:
    image = photos.open("page.png")

    items = model_set.run(image, ["ocr"])["ocr"].items

    heading = next(item for item in items if item.text == "Region-based segmentation")
    x1, y1, x2, y2 = heading.box or []
    # The heading spans the upper-left three quarters of the page's width.
    assert x1 < 20 and 250 < x2 < 320 and y1 < 20 and 25 < y2 < 45
    assert heading.keypoints is not None and len(heading.keypoints) == 4
    assert all(0.5 <= item.score <= 1.0 for item in items)


def test_ocr_bus_photo_reads_the_sign(model_set: ModelSet, photos: PhotoShelf) -> None:
    text = model_set.run(photos.open("bus.jpg"), ["ocr"])["ocr"].text or ""

    assert "cero" in text and "emisiones" in text


def test_ocr_blank_image_has_no_text(model_set: ModelSet) -> None:
    result = model_set.run(Image.new("RGB", (640, 480), "white"), ["ocr"])["ocr"]

    assert result.items == [] and result.text == ""


def test_ctc_decode_merges_repeats_and_drops_blanks() -> None:
    characters = ["<blank>", "a", "b", " "]
    steps = [1, 1, 0, 1, 2, 2, 0, 0, 3, 2]
    probabilities = np.eye(4)[steps] * 0.9

    text, confidence = ctc_decode(probabilities, characters)

    assert text == "aab b"
    assert confidence == pytest.approx(0.9)


def test_connected_runs_joins_diagonal_neighbours_only() -> None:
    mask = np.zeros((5, 8), dtype=bool)
    mask[0, 0:2] = True
    mask[1, 2:4] = True  # touches the run above at a corner
    mask[3, 6:8] = True  # apart from both

    regions = connected_runs(mask)

    assert sorted(len(region) for region in regions) == [1, 2]


def test_min_area_rect_of_a_tilted_bar_follows_its_angle() -> None:
    angle = np.deg2rad(20)
    along, across = (
        np.array([np.cos(angle), np.sin(angle)]),
        np.array([-np.sin(angle), np.cos(angle)]),
    )
    points = np.array([a * along + b * across for a in np.linspace(0, 100, 50) for b in (0, 10)])

    corners, width, height = min_area_rect(points)

    assert sorted([width, height]) == pytest.approx([10, 100], abs=1e-6)
    assert corners.shape == (4, 2)


def test_find_text_boxes_grows_a_confident_blob_into_a_box() -> None:
    probability = np.zeros((64, 128), dtype=np.float32)
    probability[20:30, 10:110] = 0.9

    (box,) = find_text_boxes(probability)

    xs, ys = box.corners[:, 0], box.corners[:, 1]
    assert box.score == pytest.approx(0.9, abs=0.01)
    assert xs.min() < 10 and xs.max() > 110 and ys.min() < 20 and ys.max() > 30


def test_ocr_reads_no_text_in_a_photo_without_any(model_set: ModelSet) -> None:
    result = model_set.run(Image.fromarray(skdata.chelsea()), ["ocr"])["ocr"]

    assert result.items == []
    assert not result.text
