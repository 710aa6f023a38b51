"""Backups that restore: the metadata database and every blob it points at, checksummed.

A backup destination is a repository that many backups share:

    DEST/blobs/ab/cd/<sha256>                 each blob once, by content hash (incremental)
    DEST/snapshots/<UTC time>/metadata.*      the database: SQLite file or pg_dump archive
    DEST/snapshots/<UTC time>/manifest.json   what the snapshot holds, with sizes and hashes
    DEST/snapshots/<UTC time>/manifest.sha256 the manifest's own checksum, written last

See docs/storage.md for the procedure.
"""

from __future__ import annotations


class BackupError(Exception):
    """Base of the backup and restore errors; each message says what to do."""


class BackupDamaged(BackupError, ValueError):
    """The backup is incomplete or its bytes do not match their checksums."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("the backup cannot be restored: " + "; ".join(problems))
        self.problems = problems


class TargetNotEmpty(BackupError, RuntimeError):
    """Restore only fills an empty system; it never merges into or overwrites data."""


class BackupToolFailed(BackupError, RuntimeError):
    """pg_dump or pg_restore failed; the message carries its own error output."""
