"""The bridge's record of CloudEvents it has queued, which makes a redelivery a no-op."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete

from kubevision.db.schema import received_events


def forget_received_events(connection: Connection, before: datetime) -> int:
    """Delete the records of events received before `before`; returns how many."""
    result = connection.execute(delete(received_events)
                                .where(received_events.c.received_at < before))
    return int(result.rowcount or 0)
