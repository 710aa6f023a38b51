"""Text recognition: PP-OCRv4 detection (DB) and recognition (CTC), post-processing our own."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from kubevision.inference.batching import chunks
from kubevision.inference.results import Region, TaskOptions, TaskResult, select
from kubevision.inference.session import LoadedModel
from kubevision.inference.textboxes import TextBox, find_text_boxes
from kubevision.inference.timing import stopwatch

DETECTOR_ID = "ppocr-v4-det"
RECOGNIZER_ID = "ppocr-v4-rec"
# The detector sees the longer side at 960 px, small images scaled up and large ones down
# (PaddleOCR's own default size); a page photo of 384 px reads best so, and memory is flat.
DETECT_SIDE = 960
LINE_HEIGHT = 48
# Wide enough for a line of about 40 characters; wider crops are squeezed, so memory is flat.
MAX_LINE_WIDTH = 1600
MIN_LINE_WIDTH = 320
RECOGNIZE_BATCH = 6
# Recognition confidence below which a line is dropped. Real lines on the test photos score
# 0.9 and more; texture read as a lone glyph (the fur in chelsea.png) scored 0.56.
DEFAULT_THRESHOLD = 0.65


class TextReader:
    """Lines of text with their rotated boxes, and the page's text in reading order."""

    task = "ocr"
    model_ids = (DETECTOR_ID, RECOGNIZER_ID)

    def __init__(self, detector: LoadedModel, recognizer: LoadedModel) -> None:
        self.detector = detector
        self.recognizer = recognizer

    def run(self, images: list[Image.Image], options: TaskOptions) -> list[TaskResult]:
        """Read each upright RGB image; boxes and corner keypoints are in its pixels."""
        return [self._run_one(image, options) for image in images]

    def _run_one(self, image: Image.Image, options: TaskOptions) -> TaskResult:
        with stopwatch() as watch:
            boxes = self.detect(image)
            lines = self.recognize([crop_line(image, box.corners) for box in boxes])
            regions = [
                _region(box, text, confidence)
                for box, (text, confidence) in zip(boxes, lines, strict=True)
                if text.strip()
            ]
            kept = select(regions, options, DEFAULT_THRESHOLD)

        return self.recognizer.result(
            self.task, watch.elapsed_ms, kept, text=reading_order_text(kept)
        )

    def detect(self, image: Image.Image) -> list[TextBox]:
        """Rotated text-line boxes in pixels of the image."""
        tensor, (scale_x, scale_y) = detector_input(image)
        (probability,) = self.detector.run({self.detector.input_name: tensor})
        boxes = find_text_boxes(probability[0, 0])
        scale = np.array([scale_x, scale_y])
        return [TextBox(corners=box.corners / scale, score=box.score) for box in boxes]

    def recognize(self, crops: list[Image.Image]) -> list[tuple[str, float]]:
        """Text and mean character confidence of each line crop, in the order given."""
        # Batching crops of similar width wastes the least padding.
        order = sorted(
            range(len(crops)), key=lambda index: crops[index].width / crops[index].height
        )
        decoded: dict[int, tuple[str, float]] = {}
        for batch in chunks(order, RECOGNIZE_BATCH):
            tensor = recognizer_input([crops[index] for index in batch])
            (probabilities,) = self.recognizer.run({self.recognizer.input_name: tensor})
            for index, row in zip(batch, probabilities, strict=True):
                decoded[index] = ctc_decode(row, self.recognizer.labels)
        return [decoded[index] for index in range(len(crops))]


def detector_input(image: Image.Image) -> tuple[np.ndarray, tuple[float, float]]:
    """The image resized for the detector, and the x and y scale factors applied."""
    scale = DETECT_SIDE / max(image.size)
    # Both sides a multiple of 32, as the detector's down-sampling needs.
    width = max(32, round(image.width * scale / 32) * 32)
    height = max(32, round(image.height * scale / 32) * 32)
    resized = image.resize((width, height), Image.Resampling.BILINEAR)
    return _paddle_tensor([resized]), (width / image.width, height / image.height)


def recognizer_input(crops: list[Image.Image]) -> np.ndarray:
    """Line crops at 48 px high, left-aligned and padded to the batch's widest line."""
    widths = [
        min(MAX_LINE_WIDTH, max(1, math.ceil(LINE_HEIGHT * crop.width / crop.height)))
        for crop in crops
    ]
    batch_width = max(MIN_LINE_WIDTH, *widths)
    tensor = np.zeros((len(crops), 3, LINE_HEIGHT, batch_width), dtype=np.float32)
    for slot, (crop, width) in enumerate(zip(crops, widths, strict=True)):
        resized = crop.resize((width, LINE_HEIGHT), Image.Resampling.BILINEAR)
        tensor[slot, :, :, :width] = _paddle_tensor([resized])[0]
    return tensor


def _paddle_tensor(images: list[Image.Image]) -> np.ndarray:
    # PaddleOCR trained on OpenCV's BGR order, scaled to [-1, 1].
    pixels = np.stack([np.asarray(image, dtype=np.float32)[:, :, ::-1] for image in images])
    return (pixels / 127.5 - 1.0).transpose(0, 3, 1, 2)


def crop_line(image: Image.Image, corners: np.ndarray) -> Image.Image:
    """The rotated box straightened into an upright strip; tall boxes are turned to lie flat."""
    top_left, top_right, bottom_right, bottom_left = corners
    width = max(1, round(float(np.hypot(*(top_right - top_left)))))
    height = max(1, round(float(np.hypot(*(bottom_left - top_left)))))
    quad = (*top_left, *bottom_left, *bottom_right, *top_right)
    strip = image.transform(
        (width, height),
        Image.Transform.QUAD,
        tuple(float(v) for v in quad),
        Image.Resampling.BILINEAR,
    )
    # A box much taller than wide holds vertical text, read after a quarter turn.
    return strip.transpose(Image.Transpose.ROTATE_90) if height >= 1.5 * width else strip


def ctc_decode(probabilities: np.ndarray, characters: list[str]) -> tuple[str, float]:
    """Greedy CTC: best class per step, repeats merged, blanks (index 0) dropped."""
    best = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    keep = best != 0
    keep[1:] &= best[1:] != best[:-1]
    if not keep.any():
        return "", 0.0
    text = "".join(characters[index] for index in best[keep])
    return text, float(confidence[keep].mean())


def reading_order_text(regions: list[Region]) -> str:
    """Lines joined top to bottom; boxes whose middles share a line are joined left to right."""
    boxed = sorted((region for region in regions if region.box), key=lambda r: (r.box or [0, 0])[1])
    rows: list[list[Region]] = []
    for region in boxed:
        box = region.box or []
        middle, height = (box[1] + box[3]) / 2, box[3] - box[1]
        if rows:
            last = rows[-1][-1].box or []
            if abs(middle - (last[1] + last[3]) / 2) < min(height, last[3] - last[1]) / 2:
                rows[-1].append(region)
                continue
        rows.append([region])
    return "\n".join(
        " ".join(r.text or "" for r in sorted(row, key=lambda r: (r.box or [0])[0])) for row in rows
    )


def _region(box: TextBox, text: str, confidence: float) -> Region:
    corners = box.corners
    return Region(
        label="text",
        score=confidence,
        box=[
            float(corners[:, 0].min()),
            float(corners[:, 1].min()),
            float(corners[:, 0].max()),
            float(corners[:, 1].max()),
        ],
        keypoints=[[float(x), float(y)] for x, y in corners],
        text=text,
    )
