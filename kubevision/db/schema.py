"""Tables of the metadata database. Migrations in ``kubevision/migrations`` create them."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# Big integers on PostgreSQL, plain INTEGER on SQLite so that it stays an alias of the rowid.
_serial = BigInteger().with_variant(Integer(), "sqlite")

images = Table(
    "images",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("filename", String(255)),
    Column("content_type", String(64), nullable=False),
    Column("format", String(16), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("latest_task_id", String(32)),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_images_created", "created_at", "id"),
    Index("ix_images_status_created", "status", "created_at", "id"),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("image_id", String(32), ForeignKey("images.id", ondelete="CASCADE"), nullable=False),
    # Set while the task may be reused by an identical request; cleared when it fails for good.
    Column("dedupe_key", String(64), unique=True),
    Column("fingerprint", String(64), nullable=False),
    Column("models", JSON, nullable=False),
    Column("options", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("dispatched_at", DateTime),
    Column("started_at", DateTime),
    Column("finished_at", DateTime),
    Column("lease_token", String(32)),
    Column("lease_expires_at", DateTime),
    Column("worker", String(255)),
    Column("provider", String(64)),
    Column("results", JSON),
    Column("error", JSON),
    Index("ix_tasks_image", "image_id", "created_at"),
    Index("ix_tasks_state", "state"),
)

task_attempts = Table(
    "task_attempts",
    metadata,
    Column("id", _serial, primary_key=True, autoincrement=True),
    Column("task_id", String(32), ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("worker", String(255), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("ended_at", DateTime),
    Column("outcome", String(16)),
    Column("error", Text),
    Column("duration_ms", Float),
    Index("ix_task_attempts_task", "task_id", "number"),
)

# Every state change, in order: the task history and the feed of the live view.
status_events = Table(
    "status_events",
    metadata,
    Column("id", _serial, primary_key=True, autoincrement=True),
    Column("image_id", String(32), nullable=False),
    Column("task_id", String(32)),
    Column("state", String(16), nullable=False),
    Column("detail", JSON),
    Column("at", DateTime, nullable=False),
    Index("ix_status_events_task", "task_id", "id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("task_id", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

# CloudEvents the bridge has already turned into a queued message, keyed as the spec says.
received_events = Table(
    "received_events",
    metadata,
    Column("source", String(255), primary_key=True),
    Column("event_id", String(255), primary_key=True),
    Column("type", String(255), nullable=False),
    Column("task_id", String(32)),
    Column("received_at", DateTime, nullable=False),
)
