"""Text boxes from a DB probability map, in numpy alone (no OpenCV, no polygon library).

Differentiable Binarization (Liao et al., 2020) predicts for each pixel how likely it lies
inside a shrunk text region; each connected region of the thresholded map becomes one
rotated rectangle, grown back out by the amount the training shrank it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# One run: a row, the first column and the column after the last, all set in the mask.
Run = tuple[int, int, int]


@dataclass(frozen=True)
class TextBox:
    """A rotated rectangle as four corners (top-left, top-right, bottom-right, bottom-left)."""

    corners: np.ndarray
    score: float


def find_text_boxes(
    probability: np.ndarray,
    threshold: float = 0.3,
    box_threshold: float = 0.5,
    unclip_ratio: float = 1.6,
    min_side: float = 3.0,
    max_boxes: int = 1000,
) -> list[TextBox]:
    """Rectangles around each region of ``probability > threshold`` that scores well enough."""
    mask = probability > threshold
    # A 2x2 dilation joins characters the map left a pixel apart, as PP-OCR does.
    mask[:-1, :-1] |= mask[1:, :-1] | mask[:-1, 1:] | mask[1:, 1:]

    boxes: list[TextBox] = []
    for runs in connected_runs(mask)[:max_boxes]:
        score = _mean_above(probability, runs, threshold)
        if score < box_threshold:
            continue
        corners, width, height = min_area_rect(_run_corners(runs))
        if min(width, height) < min_side:
            continue
        # Grow by area * ratio / perimeter: the offset DB's training shrank the text by.
        grow = width * height * unclip_ratio / (2 * (width + height))
        grown, width, height = _expand(corners, grow)
        if min(width, height) < min_side + 2:
            continue
        boxes.append(TextBox(corners=_ordered(grown), score=score))
    return boxes


def connected_runs(mask: np.ndarray) -> list[list[Run]]:
    """8-connected regions of a boolean mask, each as its list of horizontal runs."""
    padded = np.zeros((mask.shape[0], mask.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded, axis=1)
    starts_y, starts_x = np.nonzero(edges == 1)
    _, ends_x = np.nonzero(edges == -1)
    runs = list(zip(starts_y.tolist(), starts_x.tolist(), ends_x.tolist(), strict=True))

    parent = list(range(len(runs)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    # Runs of consecutive rows touch (diagonals too) when their column spans overlap by one.
    row_start = np.searchsorted(starts_y, np.arange(mask.shape[0] + 1)).tolist()
    for y in range(1, mask.shape[0]):
        above, here = row_start[y - 1], row_start[y]
        below_end = row_start[y + 1]
        upper = above
        for current in range(here, below_end):
            _, x0, x1 = runs[current]
            while upper < here and runs[upper][2] < x0:
                upper += 1
            probe = upper
            while probe < here and runs[probe][1] <= x1:
                parent[root(probe)] = root(current)
                probe += 1

    regions: dict[int, list[Run]] = {}
    for index, run in enumerate(runs):
        regions.setdefault(root(index), []).append(run)
    return list(regions.values())


def min_area_rect(points: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The smallest rotated rectangle around the points: corners, width and height.

    The best rectangle has a side along an edge of the convex hull, so each hull edge's
    direction is tried.
    """
    hull = convex_hull(points)
    if len(hull) < 3:
        hull = np.vstack([hull, hull + 1.0])
    edges = np.roll(hull, -1, axis=0) - hull
    angles = np.unique(np.mod(np.arctan2(edges[:, 1], edges[:, 0]), np.pi / 2))

    best: tuple[float, np.ndarray, float, float] | None = None
    for angle in angles:
        axes = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
        projected = hull @ axes.T
        low, high = projected.min(axis=0), projected.max(axis=0)
        width, height = high - low
        if best is None or width * height < best[0]:
            local = np.array(
                [[low[0], low[1]], [high[0], low[1]], [high[0], high[1]], [low[0], high[1]]]
            )
            best = (width * height, local @ axes, float(width), float(height))
    assert best is not None
    return best[1], best[2], best[3]


def convex_hull(points: np.ndarray) -> np.ndarray:
    """Hull of 2-D points, counter-clockwise, by Andrew's monotone chain."""
    unique = np.unique(points, axis=0)
    if len(unique) < 3:
        return unique.astype(np.float64)
    ordered = [tuple(point) for point in unique.tolist()]

    def half(sequence: list[tuple[float, float]]) -> list[tuple[float, float]]:
        chain: list[tuple[float, float]] = []
        for point in sequence:
            while len(chain) >= 2 and _cross(chain[-2], chain[-1], point) <= 0:
                chain.pop()
            chain.append(point)
        return chain

    lower, upper = half(ordered), half(ordered[::-1])
    return np.array(lower[:-1] + upper[:-1], dtype=np.float64)


def _mean_above(probability: np.ndarray, runs: list[Run], threshold: float) -> float:
    # Scored on the pixels the threshold kept, not on those the dilation added.
    values = np.concatenate([probability[y, x0:x1] for y, x0, x1 in runs])
    kept = values[values > threshold]
    return float(kept.mean()) if kept.size else 0.0


def _cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _run_corners(runs: list[Run]) -> np.ndarray:
    # The pixel corners at both ends of every run outline the region exactly.
    corners = [
        point for y, x0, x1 in runs for point in ((x0, y), (x1, y), (x0, y + 1), (x1, y + 1))
    ]
    return np.array(corners, dtype=np.float64)


def _expand(corners: np.ndarray, distance: float) -> tuple[np.ndarray, float, float]:
    centre = corners.mean(axis=0)
    along = corners[1] - corners[0]
    across = corners[3] - corners[0]
    width, height = float(np.hypot(*along)), float(np.hypot(*across))
    unit_along = along / max(width, 1e-9)
    unit_across = across / max(height, 1e-9)
    width, height = width + 2 * distance, height + 2 * distance
    half_along, half_across = unit_along * width / 2, unit_across * height / 2
    grown = np.array(
        [
            centre - half_along - half_across,
            centre + half_along - half_across,
            centre + half_along + half_across,
            centre - half_along + half_across,
        ]
    )
    return grown, width, height


def _ordered(corners: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left in image coordinates."""
    x, y = corners[:, 0], corners[:, 1]
    # With y pointing down, a positive shoelace sum means the corners run clockwise on screen.
    if float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)) < 0:
        corners = corners[::-1]
    return np.roll(corners, -int(np.argmin(corners.sum(axis=1))), axis=0)
