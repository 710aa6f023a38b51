"""Blobs as files under a folder, two levels of fan-out, written atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from kubevision.blobs.base import BlobNotFound, fan_out, verified


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / fan_out(key)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write to a temporary name in the same folder, then rename: readers see either
        # nothing or the whole object.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            data = self._path(key).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(key) from None
        return verified(key, data)

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keys(self) -> Iterator[str]:
        for path in self.root.glob("??/??/*"):
            if path.is_file() and not path.name.startswith("."):
                yield path.name

    def check(self) -> None:
        """Raise if the folder cannot be written."""
        probe = self.root / ".ready"
        probe.write_bytes(b"")
        probe.unlink()
