"""Making a backup and restoring one; the CLI's ``backup`` and ``restore`` call these."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kubevision import __version__
from kubevision.backup import BackupDamaged, TargetNotEmpty
from kubevision.backup.manifest import Manifest, MetadataPart, file_sha256
from kubevision.backup.metadata import (
    copy_database,
    describe_database,
    nonempty_tables,
    restore_database,
)
from kubevision.backup.repository import Repository
from kubevision.blobs import BlobCorrupt, BlobNotFound
from kubevision.clock import utcnow
from kubevision.context import AppContext
from kubevision.db.migrate import known_revisions, upgrade_database

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
CHECKSUM = "manifest.sha256"


@dataclass(frozen=True)
class BackupReport:
    snapshot: str
    images: int
    blobs: int
    blobs_copied: int
    bytes_copied: int


@dataclass(frozen=True)
class RestoreReport:
    snapshot: str
    images: int
    blobs: int
    schema_revision: str


def create_backup(context: AppContext, repository: Repository) -> BackupReport:
    """Copy the database and every blob it points at that the repository lacks."""
    snapshot = utcnow().strftime("%Y%m%dT%H%M%S%fZ")
    with tempfile.TemporaryDirectory(prefix="kv-backup-") as scratch:
        database = copy_database(context.engine, Path(scratch))

        copied = copied_bytes = 0
        for sha256 in sorted(database.blobs):
            # Blobs never change under a hash: one already in the repository is this one.
            if repository.blobs.exists(sha256):
                continue
            data = context.blobs.get(sha256)
            repository.blobs.put(sha256, data)
            copied, copied_bytes = copied + 1, copied_bytes + len(data)

        folder = f"snapshots/{snapshot}"
        repository.write_file(f"{folder}/{database.path.name}", database.path)
        manifest = Manifest(
            created_at=utcnow().isoformat() + "Z", kubevision_version=__version__,
            schema_revision=database.schema_revision,
            metadata=MetadataPart(file=database.path.name, dialect=database.dialect,
                                  sha256=file_sha256(database.path),
                                  size_bytes=database.path.stat().st_size),
            counts=database.counts, blobs=database.blobs)
        raw = manifest.to_bytes()
        manifest_path = Path(scratch) / MANIFEST
        manifest_path.write_bytes(raw)
        repository.write_file(f"{folder}/{MANIFEST}", manifest_path)
        # The checksum goes last: a snapshot without it is unfinished and is never restored.
        checksum_path = Path(scratch) / CHECKSUM
        checksum_path.write_text(file_sha256(manifest_path) + "\n")
        repository.write_file(f"{folder}/{CHECKSUM}", checksum_path)

    logger.info("backup %s: %d images, %d blobs (%d new, %d bytes)", snapshot,
                database.counts["images"], len(database.blobs), copied, copied_bytes)
    return BackupReport(snapshot, database.counts["images"], len(database.blobs), copied,
                        copied_bytes)


def restore_backup(context: AppContext, repository: Repository,
                   snapshot: str | None = None) -> RestoreReport:
    """Bring an empty system back to the snapshot (the latest complete one by default).
    Everything is checked before anything is written."""
    with tempfile.TemporaryDirectory(prefix="kv-restore-") as scratch:
        name, manifest = _read_manifest(repository, Path(scratch), snapshot)
        dump = Path(scratch) / manifest.metadata.file
        _check_parts(repository, name, manifest, dump)
        _check_target(context, manifest)

        for sha256 in sorted(manifest.blobs):
            context.blobs.put(sha256, repository.blobs.get(sha256))
        restore_database(context.engine, dump)

    # An older snapshot is brought up to this release's schema.
    upgrade_database(context.engine)
    revision, counts, _ = describe_database(context.engine)
    differing = [f"{table}: {counts.get(table)} rows, expected {rows}"
                 for table, rows in manifest.counts.items() if counts.get(table) != rows]
    if differing:
        raise BackupDamaged([f"restored database differs from the manifest ({table})"
                             for table in differing])
    logger.info("restored snapshot %s: %d images, %d blobs", name, counts["images"],
                len(manifest.blobs))
    return RestoreReport(name, counts["images"], len(manifest.blobs), revision)


def _read_manifest(repository: Repository, scratch: Path,
                   snapshot: str | None) -> tuple[str, Manifest]:
    names = repository.snapshots()
    if snapshot is not None and snapshot not in names:
        raise BackupDamaged([f"no snapshot {snapshot!r}; present: {', '.join(names) or 'none'}"])
    candidates = [snapshot] if snapshot is not None else list(reversed(names))
    for name in candidates:
        raw, checksum = scratch / MANIFEST, scratch / CHECKSUM
        if not repository.read_file(f"snapshots/{name}/{CHECKSUM}", checksum):
            # Unfinished (the backup stopped before its last write): try an older one.
            logger.warning("snapshot %s has no %s; skipped as unfinished", name, CHECKSUM)
            continue
        if not repository.read_file(f"snapshots/{name}/{MANIFEST}", raw):
            raise BackupDamaged([f"snapshot {name} has a checksum but no {MANIFEST}"])
        return name, Manifest.from_bytes(raw.read_bytes(), checksum.read_bytes())
    raise BackupDamaged(["no complete snapshot found (each needs manifest.json and "
                         "manifest.sha256)"])


def _check_parts(repository: Repository, name: str, manifest: Manifest, dump: Path) -> None:
    """Every problem at once: the metadata file and each blob, present and intact."""
    problems: list[str] = []
    part = manifest.metadata
    if not repository.read_file(f"snapshots/{name}/{part.file}", dump):
        problems.append(f"the metadata file {part.file} is missing")
    elif file_sha256(dump) != part.sha256 or dump.stat().st_size != part.size_bytes:
        problems.append(f"the metadata file {part.file} does not match its checksum")

    for sha256, size in sorted(manifest.blobs.items()):
        try:
            data = repository.blobs.get(sha256)
        except BlobNotFound:
            problems.append(f"blob {sha256} is missing")
            continue
        except BlobCorrupt as exc:
            problems.append(str(exc))
            continue
        if len(data) != size:
            problems.append(f"blob {sha256} has {len(data)} bytes, expected {size}")
    if problems:
        raise BackupDamaged(problems)


def _check_target(context: AppContext, manifest: Manifest) -> None:
    problems: list[str] = []
    dialect = context.engine.dialect.name
    if dialect != manifest.metadata.dialect:
        problems.append(f"the backup holds a {manifest.metadata.dialect} database and the "
                        f"target is {dialect}")
    if manifest.schema_revision not in known_revisions():
        problems.append(f"schema revision {manifest.schema_revision} is newer than this "
                        "KubeVision knows; restore with the release that made the backup")
    if problems:
        raise BackupDamaged(problems)

    full = nonempty_tables(context.engine)
    if full:
        raise TargetNotEmpty(f"the target database has rows in {', '.join(full)}; restore "
                             "fills only an empty system (point KV_DATABASE_URL at a new one)")
    if next(iter(context.blobs.keys()), None) is not None:
        raise TargetNotEmpty("the target blob store already holds blobs; restore fills only "
                             "an empty one (point the blob settings at a new folder or prefix)")
