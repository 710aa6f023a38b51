"""The one result shape every task returns, and the options every task accepts."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TaskOptions(BaseModel):
    """Per-task options from the request; None keeps the model's own default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    score_threshold: float | None = Field(None, ge=0.0, le=1.0, allow_inf_nan=False)
    max_results: int | None = Field(None, ge=1, le=1000)


class ModelInfo(BaseModel):
    """Which model file produced a result."""

    model_config = ConfigDict(frozen=True)

    id: str
    version: str
    sha256: str


class Region(BaseModel):
    """One finding: a class, a detected object, a face or a line of text.

    Coordinates are pixels of the upright image (EXIF orientation applied).
    """

    label: str
    score: float
    box: list[float] | None = Field(None, min_length=4, max_length=4)
    keypoints: list[list[float]] | None = None
    text: str | None = None


class TaskResult(BaseModel):
    """What one task found in one image."""

    task: str
    model: ModelInfo
    provider: str
    # Time spent on this image; an image run in a batch gets an equal share of the batch.
    duration_ms: float
    items: list[Region]
    text: str | None = None
    embedding: list[float] | None = None


def select(regions: list[Region], options: TaskOptions, default_threshold: float) -> list[Region]:
    """Regions at or above the score threshold, best first, cut to ``max_results``."""
    threshold = default_threshold if options.score_threshold is None else options.score_threshold
    kept = sorted((r for r in regions if r.score >= threshold), key=lambda r: -r.score)
    return kept[: options.max_results] if options.max_results is not None else kept
