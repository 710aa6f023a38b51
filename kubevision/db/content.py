"""Which rows point at a blob, and the lock that keeps a blob and its rows in step.

Blobs are shared by content hash (the same bytes are one blob), so a blob may be deleted only
when no row points at it. Every path that adds a reference (upload, a new thumbnail) and the
path that drops unreferenced blobs take the same per-hash lock in their transaction; the
check "nobody points at it" and the write "I point at it" can then never interleave.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, func, select, union, update

from kubevision.db.schema import derivatives, images


def lock_content(connection: Connection, hashes: Iterable[str]) -> None:
    """Hold the per-hash locks until the transaction ends."""
    if connection.dialect.name == "postgresql":
        # Sorted, so two transactions that lock several hashes cannot deadlock.
        for sha256 in sorted(set(hashes)):
            # The first 15 hex digits fit a signed 64-bit advisory lock key.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(%(key)s)",
                                       {"key": int(sha256[:15], 16)})
        return
    # SQLite has one writer at a time: a write statement, even one that matches no row, takes
    # the database's write lock for the rest of the transaction.
    connection.execute(update(images).where(images.c.id == "").values(status=images.c.status))


def reference_count(connection: Connection, sha256: str) -> int:
    """How many images and derived images point at the blob."""
    originals = select(func.count()).select_from(images).where(images.c.sha256 == sha256)
    derived = select(func.count()).select_from(derivatives).where(derivatives.c.sha256 == sha256)
    return int(connection.execute(originals).scalar_one()) + int(
        connection.execute(derived).scalar_one())


def referenced_blobs(connection: Connection) -> set[str]:
    """Every blob some row points at."""
    query = union(select(images.c.sha256), select(derivatives.c.sha256))
    return {row[0] for row in connection.execute(query)}
