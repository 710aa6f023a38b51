"""Face detection: MediaPipe's BlazeFace (full range) with our anchors and weighted NMS."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from kubevision.inference.resize import resize_rgb
from kubevision.inference.results import Region, TaskOptions, TaskResult, select
from kubevision.inference.session import LoadedModel
from kubevision.inference.timing import stopwatch

MODEL_ID = "blazeface-full-range"
INPUT_SIZE = 192
# The full-range model predicts on one 48x48 grid (stride 4), one anchor of fixed size per cell.
GRID = 48
# MediaPipe ships 0.6; 0.5 keeps the smaller faces of group photos (zidane.jpg scores 0.61).
DEFAULT_THRESHOLD = 0.5
OVERLAP = 0.3
# MediaPipe clips raw scores before the sigmoid so exp() cannot overflow.
SCORE_CLIP = 100.0
KEYPOINTS = ("right eye", "left eye", "nose tip", "mouth", "right ear", "left ear")


@dataclass(frozen=True)
class Letterbox:
    """How an image was scaled and centred into the square model input."""

    scale: float
    left: float
    top: float

    def to_image(self, points: np.ndarray) -> np.ndarray:
        """Model-input coordinates in [0, 1] back to pixels of the original image."""
        pixels = points * INPUT_SIZE
        pixels[..., 0] = (pixels[..., 0] - self.left) / self.scale
        pixels[..., 1] = (pixels[..., 1] - self.top) / self.scale
        return pixels


class FaceDetector:
    """Face boxes with six keypoints each (eyes, nose, mouth, ears); one image per run."""

    task = "faces"
    model_ids = (MODEL_ID,)

    def __init__(self, model: LoadedModel) -> None:
        self.model = model
        self.anchors = anchor_centres()

    def run(self, images: list[Image.Image], options: TaskOptions) -> list[TaskResult]:
        """Find faces in each upright RGB image; boxes and keypoints are in its pixels."""
        return [self._run_one(image, options) for image in images]

    def _run_one(self, image: Image.Image, options: TaskOptions) -> TaskResult:
        threshold = options.score_threshold
        if threshold is None:
            threshold = DEFAULT_THRESHOLD
        with stopwatch() as watch:
            tensor, letterbox = preprocess(image)
            regressors, logits = self.model.run({self.model.input_name: tensor})
            scores = 1.0 / (1.0 + np.exp(-np.clip(logits[0, :, 0], -SCORE_CLIP, SCORE_CLIP)))
            keep = scores >= threshold
            boxes, keypoints = decode(regressors[0][keep], self.anchors[keep])
            faces = weighted_nms(boxes, keypoints, scores[keep], OVERLAP)
            regions = [_region(face, letterbox, image.size) for face in faces]

        return self.model.result(self.task, watch.elapsed_ms, select(regions, options, threshold))


def anchor_centres() -> np.ndarray:
    """Centres of the 2304 anchors, in [0, 1] of the model input, row by row."""
    centres = (np.arange(GRID, dtype=np.float32) + 0.5) / GRID
    x, y = np.meshgrid(centres, centres)
    return np.stack([x.ravel(), y.ravel()], axis=1)


def preprocess(image: Image.Image) -> tuple[np.ndarray, Letterbox]:
    """The image letterboxed into 192x192 (aspect kept, centred), scaled to [-1, 1], NHWC."""
    scale = INPUT_SIZE / max(image.size)
    width = max(1, round(image.width * scale))
    height = max(1, round(image.height * scale))
    left, top = (INPUT_SIZE - width) // 2, (INPUT_SIZE - height) // 2

    pixels = np.full((INPUT_SIZE, INPUT_SIZE, 3), -1.0, dtype=np.float32)
    resized = resize_rgb(image, (width, height))
    pixels[top : top + height, left : left + width] = resized / np.float32(127.5) - 1.0
    return pixels[np.newaxis], Letterbox(scale=scale, left=left, top=top)


def decode(regressors: np.ndarray, anchors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (x1, y1, x2, y2) and keypoints (6 x [x, y]) in [0, 1] of the model input.

    Each anchor regresses a centre offset, a size and six keypoint offsets, all in input
    pixels relative to the anchor centre.
    """
    offsets = regressors / INPUT_SIZE
    centre = anchors + offsets[:, 0:2]
    half = offsets[:, 2:4] / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    keypoints = offsets[:, 4:16].reshape(-1, 6, 2) + anchors[:, np.newaxis, :]
    return boxes, keypoints


def weighted_nms(
    boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, overlap: float
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Merge overlapping detections into their score-weighted average, as MediaPipe does.

    Averaging, rather than keeping only the best box, steadies the box of a face that
    several neighbouring anchors all see.
    """
    order = np.argsort(-scores)
    faces: list[tuple[np.ndarray, np.ndarray, float]] = []
    while order.size:
        best = order[0]
        cluster = order[_iou(boxes[best], boxes[order]) > overlap]
        weights = scores[cluster] / scores[cluster].sum()
        faces.append(
            (
                (boxes[cluster] * weights[:, None]).sum(axis=0),
                (keypoints[cluster] * weights[:, None, None]).sum(axis=0),
                float(scores[best]),
            )
        )
        order = np.setdiff1d(order, cluster, assume_unique=True)
        order = order[np.argsort(-scores[order])]
    return faces


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    top_left = np.maximum(box[:2], others[:, :2])
    bottom_right = np.minimum(box[2:], others[:, 2:])
    intersection = np.prod(np.clip(bottom_right - top_left, 0, None), axis=1)
    area = np.prod(box[2:] - box[:2])
    areas = np.prod(others[:, 2:] - others[:, :2], axis=1)
    return np.asarray(intersection / np.maximum(area + areas - intersection, 1e-9))


def _region(
    face: tuple[np.ndarray, np.ndarray, float], letterbox: Letterbox, size: tuple[int, int]
) -> Region:
    box, keypoints, score = face
    corners = letterbox.to_image(box.reshape(2, 2).copy())
    limits = np.array(size, dtype=np.float32)
    corners = np.clip(corners, 0, limits)
    points = letterbox.to_image(keypoints.copy())
    return Region(
        label="face",
        score=score,
        box=[float(value) for value in corners.ravel()],
        keypoints=[[float(x), float(y)] for x, y in points],
    )
