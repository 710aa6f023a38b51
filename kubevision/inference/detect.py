"""Object detection: SSD MobileNet V2 over the 80 COCO classes, with its own built-in NMS."""

from __future__ import annotations

import numpy as np
from PIL import Image

from kubevision.inference.resize import resize_rgb
from kubevision.inference.results import Region, TaskOptions, TaskResult, select
from kubevision.inference.session import LoadedModel
from kubevision.inference.timing import stopwatch

MODEL_ID = "ssd-mobilenet-v2-coco"
INPUT_SIZE = 300
DEFAULT_THRESHOLD = 0.3


class Detector:
    """Boxes, COCO labels and scores; the model takes one image per run."""

    task = "detect"
    model_ids = (MODEL_ID,)

    def __init__(self, model: LoadedModel) -> None:
        self.model = model

    def run(self, images: list[Image.Image], options: TaskOptions) -> list[TaskResult]:
        """Detect objects in each upright RGB image; boxes are in its pixels."""
        return [self._run_one(image, options) for image in images]

    def _run_one(self, image: Image.Image, options: TaskOptions) -> TaskResult:
        with stopwatch() as watch:
            tensor = preprocess(image)
            boxes, classes, scores, count = self.model.run({self.model.input_name: tensor})
            regions = [
                Region(
                    label=self.model.labels[int(classes[0, index])],
                    score=float(scores[0, index]),
                    box=_to_pixels(boxes[0, index], image.size),
                )
                for index in range(int(count[0]))
            ]
            items = select(regions, options, DEFAULT_THRESHOLD)

        return self.model.result(self.task, watch.elapsed_ms, items)


def preprocess(image: Image.Image) -> np.ndarray:
    """A plain 300x300 resize (the model was trained without letterboxing), uint8, NHWC."""
    return resize_rgb(image, (INPUT_SIZE, INPUT_SIZE))[np.newaxis]


def _to_pixels(box: np.ndarray, size: tuple[int, int]) -> list[float]:
    # The model gives normalised (y1, x1, y2, x2), sometimes a little outside the image.
    width, height = size
    y1, x1, y2, x2 = np.clip(box, 0.0, 1.0)
    return [float(x1 * width), float(y1 * height), float(x2 * width), float(y2 * height)]
