"""Image classification: EfficientNet-Lite0 over the 1000 ImageNet classes, plus an embedding."""

from __future__ import annotations

import numpy as np
from PIL import Image

from kubevision.inference.batching import chunks
from kubevision.inference.resize import resize_rgb
from kubevision.inference.results import Region, TaskOptions, TaskResult, select
from kubevision.inference.session import LoadedModel
from kubevision.inference.timing import stopwatch

MODEL_ID = "efficientnet-lite0"
INPUT_SIZE = 224
# Resizing the shorter side to 256 and cropping 224 is how the checkpoint was evaluated.
CROP_FRACTION = 224 / 256
MAX_BATCH = 16
DEFAULT_TOP = 5


class Classifier:
    """Top ImageNet labels and the pooled 1280-d features of each image."""

    task = "classify"
    model_ids = (MODEL_ID,)

    def __init__(self, model: LoadedModel) -> None:
        self.model = model

    def run(self, images: list[Image.Image], options: TaskOptions) -> list[TaskResult]:
        """Classify upright RGB images, in batches of at most ``MAX_BATCH``."""
        results: list[TaskResult] = []
        for batch in chunks(images, MAX_BATCH):
            results.extend(self._run_batch(batch, options))
        return results

    def _run_batch(self, images: list[Image.Image], options: TaskOptions) -> list[TaskResult]:
        with stopwatch() as watch:
            tensor = np.stack([preprocess(image) for image in images])
            logits, features = self.model.run({self.model.input_name: tensor})
            probabilities = _softmax(logits)
            items = [self._top_labels(row, options) for row in probabilities]

        return [
            self.model.result(
                self.task,
                watch.share(len(images)),
                regions,
                embedding=[float(value) for value in embedding],
            )
            for regions, embedding in zip(items, features, strict=True)
        ]

    def _top_labels(self, probabilities: np.ndarray, options: TaskOptions) -> list[Region]:
        count = options.max_results or DEFAULT_TOP
        best = np.argsort(-probabilities)[:count]
        regions = [
            Region(label=self.model.labels[index], score=float(probabilities[index]))
            for index in best
        ]
        return select(regions, options, default_threshold=0.0)


def preprocess(image: Image.Image) -> np.ndarray:
    """The centre crop, resized to 224x224 and scaled to about [-1, 1], channels first.

    Only the centre square is converted and resized, so a huge or very elongated image costs
    no more memory than that square.
    """
    width, height = image.size
    side = min(width, height) * CROP_FRACTION
    left, top = (width - side) / 2, (height - side) / 2
    pixels = resize_rgb(image, (INPUT_SIZE, INPUT_SIZE), box=(left, top, left + side, top + side))
    # The checkpoint was trained on (x - 127) / 128, not on ImageNet mean and deviation.
    scaled: np.ndarray = ((pixels.astype(np.float32) - 127.0) / 128.0).transpose(2, 0, 1)
    return scaled


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities: np.ndarray = shifted / shifted.sum(axis=1, keepdims=True)
    return probabilities
