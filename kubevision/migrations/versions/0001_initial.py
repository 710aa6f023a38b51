"""Images, tasks, attempts, status events, idempotency keys and received CloudEvents.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "images",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("filename", sa.String(255)),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("latest_task_id", sa.String(32)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_images_created", "images", ["created_at", "id"])
    op.create_index("ix_images_status_created", "images", ["status", "created_at", "id"])

    op.create_table(
        "tasks",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("image_id", sa.String(32),
                  sa.ForeignKey("images.id", ondelete="CASCADE"), nullable=False),
        sa.Column("dedupe_key", sa.String(64), unique=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("models", sa.JSON, nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("dispatched_at", sa.DateTime),
        sa.Column("started_at", sa.DateTime),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("lease_token", sa.String(32)),
        sa.Column("lease_expires_at", sa.DateTime),
        sa.Column("worker", sa.String(255)),
        sa.Column("provider", sa.String(64)),
        sa.Column("results", sa.JSON),
        sa.Column("error", sa.JSON),
    )
    op.create_index("ix_tasks_image", "tasks", ["image_id", "created_at"])
    op.create_index("ix_tasks_state", "tasks", ["state"])

    op.create_table(
        "task_attempts",
        sa.Column("id", _serial, primary_key=True, autoincrement=True),
        sa.Column("task_id", sa.String(32),
                  sa.ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("worker", sa.String(255), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("ended_at", sa.DateTime),
        sa.Column("outcome", sa.String(16)),
        sa.Column("error", sa.Text),
        sa.Column("duration_ms", sa.Float),
    )
    op.create_index("ix_task_attempts_task", "task_attempts", ["task_id", "number"])

    op.create_table(
        "status_events",
        sa.Column("id", _serial, primary_key=True, autoincrement=True),
        sa.Column("image_id", sa.String(32), nullable=False),
        sa.Column("task_id", sa.String(32)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("detail", sa.JSON),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_status_events_task", "status_events", ["task_id", "id"])

    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("task_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )

    op.create_table(
        "received_events",
        sa.Column("source", sa.String(255), primary_key=True),
        sa.Column("event_id", sa.String(255), primary_key=True),
        sa.Column("type", sa.String(255), nullable=False),
        sa.Column("task_id", sa.String(32)),
        sa.Column("received_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("received_events", "idempotency_keys", "status_events", "task_attempts",
                  "tasks", "images"):
        op.drop_table(table)
