"""Splitting a list of images into the batches a model accepts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

Item = TypeVar("Item")


def chunks(items: list[Item], size: int) -> Iterator[list[Item]]:
    """Consecutive slices of at most ``size`` items."""
    assert size >= 1, f"batch size must be at least 1, got {size}"
    for start in range(0, len(items), size):
        yield items[start : start + size]
