"""Time as the database stores it: naive UTC, so SQLite and PostgreSQL compare alike."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with a Z, the form every API answer uses."""
    if moment is None:
        return None
    return moment.isoformat(timespec="milliseconds") + "Z"
