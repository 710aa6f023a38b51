"""Where backups live: a folder, or a bucket prefix on any S3-compatible service.

Both hold the same layout (see the package docs); blobs go through the blob store's own
back ends, so they are written atomically and verified on read here too.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Protocol

from kubevision.blobs import BlobStore, LocalBlobStore
from kubevision.settings import BlobSettings


class Repository(Protocol):
    blobs: BlobStore

    def write_file(self, name: str, source: Path) -> None: ...
    def read_file(self, name: str, target: Path) -> bool: ...
    def snapshots(self) -> list[str]: ...


class FolderRepository:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs: BlobStore = LocalBlobStore(root / "blobs")

    def write_file(self, name: str, source: Path) -> None:
        target = self.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        os.close(fd)
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)

    def read_file(self, name: str, target: Path) -> bool:
        source = self.root / name
        if not source.is_file():
            return False
        shutil.copyfile(source, target)
        return True

    def snapshots(self) -> list[str]:
        folder = self.root / "snapshots"
        return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


class S3Repository:
    def __init__(self, blob: BlobSettings, bucket: str, prefix: str) -> None:
        from kubevision.blobs.s3 import S3BlobStore

        base = S3BlobStore.from_settings(blob)
        self.client: Any = base.client
        self.bucket = bucket
        self.prefix = prefix
        self.blobs: BlobStore = S3BlobStore(self.client, bucket, f"{prefix}blobs/")

    def write_file(self, name: str, source: Path) -> None:
        self.client.upload_file(str(source), self.bucket, self.prefix + name)

    def read_file(self, name: str, target: Path) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.download_file(self.bucket, self.prefix + name, str(target))
        except ClientError:
            return False
        return True

    def snapshots(self) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}snapshots/", Delimiter="/")
        names = [entry["Prefix"].rstrip("/").rsplit("/", 1)[-1]
                 for page in pages for entry in page.get("CommonPrefixes", [])]
        return sorted(names)


def open_repository(location: str, blob: BlobSettings) -> Repository:
    """``s3://bucket/prefix`` (endpoint, region and credentials from the blob settings) or a
    folder path."""
    if location.startswith("s3://"):
        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        prefix = prefix.strip("/")
        return S3Repository(blob, bucket, f"{prefix}/" if prefix else "")
    return FolderRepository(Path(location))
