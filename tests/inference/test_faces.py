"""BlazeFace on real portraits: how many faces, where, and their keypoints."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from kubevision.inference.faces import anchor_centres, decode, weighted_nms
from kubevision.inference.registry import ModelSet
from kubevision.inference.results import Region
from tests.support.photos import PhotoShelf
from tests.support.variants import rotated_with_exif


def _faces(model_set: ModelSet, image: Image.Image) -> list[Region]:
    return model_set.run(image, ["faces"])["faces"].items


def _inside(point: list[float], box: list[float] | None) -> bool:
    assert box is not None
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


def test_faces_zidane_photo_has_two(model_set: ModelSet, photos: PhotoShelf) -> None:
    image = photos.open("zidane.jpg")

    faces = _faces(model_set, image)

    assert len(faces) == 2
    # One face in each half of the photo, both in its upper two thirds.
    centres = sorted(((f.box or [])[0] + (f.box or [])[2]) / 2 for f in faces)
    assert centres[0] < image.width / 2 < centres[1]
    assert all((f.box or [])[3] < image.height * 2 / 3 for f in faces)


@pytest.mark.parametrize("name", ["grace_hopper.jpg", "astronaut.png"])
def test_faces_portrait_has_one_with_keypoints_inside(
    model_set: ModelSet, photos: PhotoShelf, name: str
) -> None:
    faces = _faces(model_set, photos.open(name))

    assert len(faces) == 1
    face = faces[0]
    assert face.label == "face" and face.score > 0.7
    assert face.keypoints is not None and len(face.keypoints) == 6
    right_eye, left_eye, nose, mouth = face.keypoints[:4]
    assert all(_inside(point, face.box) for point in (right_eye, left_eye, nose, mouth))
    # Upright face: eyes side by side above the nose, the mouth below it.
    assert right_eye[0] < left_eye[0]
    assert max(right_eye[1], left_eye[1]) < nose[1] < mouth[1]


def test_faces_astronaut_box_is_where_her_face_is(model_set: ModelSet, photos: PhotoShelf) -> None:
    (face,) = _faces(model_set, photos.open("astronaut.png"))

    # Her face sits at about x 170-280, y 60-180 of the 512x512 photo.
    assert face.box == pytest.approx([175, 70, 280, 175], abs=25)


def test_faces_exif_rotated_portrait_gives_the_same_face(
    model_set: ModelSet, photos: PhotoShelf
) -> None:
    upright = photos.open("grace_hopper.jpg")

    expected = _faces(model_set, upright)
    actual = _faces(model_set, rotated_with_exif(upright, 6))

    assert len(actual) == len(expected) == 1
    assert actual[0].box == pytest.approx(expected[0].box, abs=1.0)


def test_faces_elongated_and_tiny_images_run(model_set: ModelSet) -> None:
    for size in [(4000, 3), (3, 4000), (1, 1)]:
        result = model_set.run(Image.new("RGB", size, (200, 180, 160)), ["faces"])["faces"]
        assert result.items == []


def test_weighted_nms_merges_overlapping_boxes_by_score() -> None:
    boxes = np.array([[0.0, 0.0, 1.0, 1.0], [0.1, 0.0, 1.1, 1.0], [5.0, 5.0, 6.0, 6.0]])
    keypoints = np.zeros((3, 6, 2))
    scores = np.array([0.9, 0.3, 0.8])

    faces = weighted_nms(boxes, keypoints, scores, overlap=0.3)

    assert [round(score, 2) for _, _, score in faces] == [0.9, 0.8]
    # 0.9 and 0.3 weights: x1 = 0.1 * 0.3 / 1.2
    assert faces[0][0] == pytest.approx([0.025, 0.0, 1.025, 1.0])
    assert faces[1][0] == pytest.approx([5.0, 5.0, 6.0, 6.0])


def test_decode_places_a_zero_regression_on_its_anchor() -> None:
    anchors = anchor_centres()
    regressors = np.zeros((1, 16), dtype=np.float32)
    regressors[0, 2:4] = 96  # half the 192-pixel input wide and high

    boxes, keypoints = decode(regressors, anchors[:1])

    assert len(anchors) == 2304
    cx, cy = anchors[0]
    assert boxes[0] == pytest.approx([cx - 0.25, cy - 0.25, cx + 0.25, cy + 0.25])
    assert keypoints[0] == pytest.approx(np.tile(anchors[0], (6, 1)))
