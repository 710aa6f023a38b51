"""Engine creation with the per-dialect settings that make several processes share one DB."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine, create_engine, event, text

logger = logging.getLogger(__name__)


def _tune_sqlite(dbapi_connection: Any, _: Any) -> None:
    # WAL lets the functions read while the worker writes; the busy timeout makes writers
    # from other processes wait for the lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_db_engine(url: str) -> Engine:
    """An engine for SQLite (embedded default) or PostgreSQL."""
    if url.startswith(("postgresql://", "postgres://")):
        # SQLAlchemy 2.1 picks psycopg 3 for a bare scheme; we ship psycopg2.
        url = "postgresql+psycopg2://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _tune_sqlite)
    else:
        engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    return engine


def check_database(engine: Engine) -> None:
    """Raise if the database cannot answer a trivial query."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
