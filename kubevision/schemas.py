"""The public shapes of the HTTP API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

ImageStatus = Literal["uploaded", "queued", "processing", "done", "failed"]
TaskState = Literal["queued", "processing", "done", "failed"]


class ImagePublic(BaseModel):
    id: str
    sha256: str
    filename: str | None
    content_type: str
    format: str
    width: int
    height: int
    size_bytes: int
    status: ImageStatus
    latest_task_id: str | None
    created_at: str
    updated_at: str
    links: dict[str, str]


class AttemptPublic(BaseModel):
    number: int
    worker: str
    started_at: str | None
    ended_at: str | None
    outcome: str | None
    error: str | None
    duration_ms: float | None


class HistoryEntry(BaseModel):
    state: str
    at: str | None
    detail: dict[str, Any] | None


class TaskError(BaseModel):
    code: str
    message: str


class TaskPublic(BaseModel):
    id: str
    image_id: str
    state: TaskState
    models: list[str]
    options: dict[str, Any]
    attempts: int
    max_attempts: int
    created_at: str | None
    dispatched_at: str | None
    started_at: str | None
    finished_at: str | None
    queue_ms: float | None = Field(description="From creation to the first start")
    run_ms: float | None = Field(description="From the first start to the end")
    worker: str | None
    provider: str | None
    results: dict[str, Any] | None
    error: TaskError | None
    attempt_log: list[AttemptPublic]
    history: list[HistoryEntry]
    links: dict[str, str]


class TaskSummary(BaseModel):
    id: str
    state: TaskState
    models: list[str]
    attempts: int
    created_at: str | None
    finished_at: str | None
    error: TaskError | None


class StatusPublic(BaseModel):
    image_id: str
    status: ImageStatus
    image: ImagePublic
    latest_task: TaskSummary | None


class ImagePage(BaseModel):
    items: list[ImagePublic]
    next_cursor: str | None
    links: dict[str, str]


class ProcessAccepted(BaseModel):
    task_id: str
    image_id: str
    state: TaskState
    created: bool = Field(description="False when an identical earlier task is returned")
    models: list[str]
    links: dict[str, str]
