"""Measuring how long a task took for each image of a batch."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class Stopwatch:
    """Milliseconds since start; ``share(n)`` splits them evenly over a batch of n images."""

    def __init__(self) -> None:
        self._start = time.perf_counter()
        self.elapsed_ms = 0.0

    def stop(self) -> float:
        self.elapsed_ms = (time.perf_counter() - self._start) * 1000.0
        return self.elapsed_ms

    def share(self, count: int) -> float:
        return self.elapsed_ms / max(count, 1)


@contextmanager
def stopwatch() -> Iterator[Stopwatch]:
    """Time the body of a ``with`` block."""
    watch = Stopwatch()
    try:
        yield watch
    finally:
        watch.stop()
