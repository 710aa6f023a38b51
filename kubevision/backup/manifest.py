"""The manifest of one snapshot: what it holds, how big, and the hash of every part."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ValidationError

from kubevision.backup import BackupDamaged

# One chunked file hash for the whole package; the model store's is public for that reason.
from kubevision.modelstore.store import file_sha256

__all__ = ["FORMAT", "VERSION", "Manifest", "MetadataPart", "file_sha256"]

FORMAT = "kubevision-backup"
VERSION = 1


class MetadataPart(BaseModel):
    file: str
    dialect: str
    sha256: str
    size_bytes: int


class Manifest(BaseModel):
    format: str = FORMAT
    version: int = VERSION
    created_at: str
    kubevision_version: str
    schema_revision: str
    metadata: MetadataPart
    # Rows per table, checked again after a restore.
    counts: dict[str, int]
    # Every blob the metadata points at: content hash -> size in bytes.
    blobs: dict[str, int]

    def to_bytes(self) -> bytes:
        return self.model_dump_json(indent=2).encode()

    @classmethod
    def from_bytes(cls, raw: bytes, checksum: bytes) -> Manifest:
        """The manifest, if its checksum matches and it is a format we read."""
        if hashlib.sha256(raw).hexdigest() != checksum.decode(errors="replace").strip():
            raise BackupDamaged(["manifest.json does not match manifest.sha256"])
        try:
            manifest = cls.model_validate_json(raw)
        except ValidationError as exc:
            raise BackupDamaged([f"manifest.json is not a valid manifest: {exc}"]) from exc
        if manifest.format != FORMAT or manifest.version > VERSION:
            raise BackupDamaged([f"manifest format {manifest.format!r} version "
                                 f"{manifest.version} is not one this KubeVision reads "
                                 f"({FORMAT!r} up to {VERSION})"])
        return manifest

