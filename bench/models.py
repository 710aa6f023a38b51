"""Latency and throughput of each model through our code and through a bare session.

Run from the repository root after building the store:

    python bench/models.py [--model-dir DIR] [--repeat 100] [--images 200]

"ours" is the whole task (pre-processing, session, post-processing); "bare" is
``onnxruntime.InferenceSession.run`` alone, default options, on the same ONNX file and the
same input tensors. Memory is the worker's resident set with all four tasks loaded, then
after 100 and 200 photos of random sizes through every task.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import psutil
from PIL import Image
from rich.console import Console
from rich.table import Table

from kubevision.inference import classify, detect, faces, ocr
from kubevision.inference.registry import TASK_NAMES, ModelSet
from kubevision.inference.results import TaskOptions
from kubevision.modelstore import ModelStore
from kubevision.modelstore.store import default_model_dir
from kubevision.settings import ExecutionProvider, Settings

PHOTOS = ("chelsea.png", "coffee.png", "astronaut.png", "page.png", "rocket.jpg")


def _photos() -> list[Image.Image]:
    import skimage

    folder = Path(skimage.__file__).parent / "data"
    return [Image.open(folder / name).convert("RGB") for name in PHOTOS]


def _medians_ms(
    ours: Callable[[], Any], bare: Callable[[], Any], repeat: int, block: int = 10
) -> tuple[float, float]:
    """Median milliseconds of each, in alternating blocks so that both see the same machine.

    The first run of each block is not counted: ONNX Runtime's threads spin for a while after a
    run, and the other session's spinning threads would otherwise slow it.
    """
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(max(1, repeat // block)):
        for action, into in ((ours, times[0]), (bare, times[1])):
            action()
            for _ in range(block):
                start = time.perf_counter()
                action()
                into.append((time.perf_counter() - start) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def _bare(path: Path) -> onnxruntime.InferenceSession:
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _rows(models: ModelSet, store: ModelStore, repeat: int) -> list[tuple[str, int, float, float]]:
    photos = _photos()
    options = TaskOptions()
    rows: list[tuple[str, int, float, float]] = []

    classifier = models._model_for("classify")
    bare = _bare(store.onnx_path(classify.MODEL_ID))
    for batch in (1, classify.MAX_BATCH):
        images = [photos[i % len(photos)] for i in range(batch)]
        tensor = np.stack([classify.preprocess(image) for image in images])
        ours, plain = _medians_ms(
            partial(classifier.run, images, options), partial(bare.run, None, {"image": tensor}),
            repeat,
        )
        rows.append((classify.MODEL_ID, batch, ours, plain))

    for task, module in (("detect", detect), ("faces", faces)):
        model = models._model_for(task)
        bare = _bare(store.onnx_path(module.MODEL_ID))
        feed = {bare.get_inputs()[0].name: _first(module.preprocess(photos[2]))}
        ours, plain = _medians_ms(
            partial(model.run, [photos[2]], options), partial(bare.run, None, feed), repeat
        )
        rows.append((f"{module.MODEL_ID} (fixed batch 1)", 1, ours, plain))

    reader = models._model_for("ocr")
    assert isinstance(reader, ocr.TextReader)
    page = photos[3]
    det, rec = _bare(store.onnx_path(ocr.DETECTOR_ID)), _bare(store.onnx_path(ocr.RECOGNIZER_ID))
    det_tensor, _ = ocr.detector_input(page)
    crops = [ocr.crop_line(page, box.corners) for box in reader.detect(page)]
    rec_tensors = [
        ocr.recognizer_input(batch)
        for batch in (crops[i : i + ocr.RECOGNIZE_BATCH] for i in range(0, len(crops), 6))
    ]

    def bare_ocr() -> None:
        det.run(None, {"x": det_tensor})
        for tensor in rec_tensors:
            rec.run(None, {"x": tensor})

    # A page takes about half a second; two blocks of five are enough for its median.
    ours, plain = _medians_ms(lambda: reader.run([page], options), bare_ocr, 10, block=5)
    rows.append((f"ppocr-v4 det+rec, page of {len(crops)} lines", 1, ours, plain))
    return rows


def _first(value: Any) -> np.ndarray:
    return np.asarray(value[0] if isinstance(value, tuple) else value)


def _memory(models: ModelSet, count: int, seed: int = 7) -> list[tuple[str, float]]:
    process = psutil.Process()
    rng = random.Random(seed)
    photos = _photos()
    samples = [("all four tasks loaded", process.memory_info().rss / 2**20)]
    for done in range(1, count + 1):
        photo = rng.choice(photos)
        size = (rng.randint(16, 3000), rng.randint(16, 3000))
        models.run(photo.resize(size), list(TASK_NAMES))
        if done % 100 == 0:
            samples.append((f"after {done} random-size photos", process.memory_info().rss / 2**20))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--images", type=int, default=200)
    args = parser.parse_args()

    store = ModelStore(args.model_dir or default_model_dir())
    models = ModelSet(store, Settings(execution_provider=ExecutionProvider.CPU))
    models.load(list(TASK_NAMES))
    console = Console(width=120)
    # Memory first, so the bare sessions of the latency runs do not count.
    memory = Table(title="worker resident memory")
    memory.add_column("moment")
    memory.add_column("RSS MiB", justify="right")
    for moment, mib in _memory(models, args.images):
        memory.add_row(moment, f"{mib:.0f}")

    table = Table(title=f"latency on {psutil.cpu_count()} CPUs ({onnxruntime.__version__})")
    columns = ("model", "batch", "ours ms", "ours img/s", "bare ms", "bare img/s", "ours/bare")
    for column in columns:
        table.add_column(column, justify="left" if column == "model" else "right")
    for name, batch, ours, plain in _rows(models, store, args.repeat):
        table.add_row(
            name,
            str(batch),
            f"{ours:.1f}",
            f"{batch * 1000 / ours:.1f}",
            f"{plain:.1f}",
            f"{batch * 1000 / plain:.1f}",
            f"{plain / ours:.2f}",
        )
    console.print(table)
    console.print(memory)


if __name__ == "__main__":
    main()
