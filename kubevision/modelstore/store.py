"""The model store: a folder of built ONNX files, verified against the manifest."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from kubevision.modelstore.errors import (
    ChecksumMismatchError,
    ModelMissingError,
    ModelStoreError,
    UnknownModelError,
)
from kubevision.modelstore.manifest import Manifest, ModelSpec, load_manifest

__all__ = [
    "ChecksumMismatchError",
    "ModelMissingError",
    "ModelStore",
    "ModelStoreError",
    "UnknownModelError",
    "file_sha256",
]


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in chunks so a large model does not sit in memory twice."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@lru_cache(maxsize=256)
def _cached_sha256(path: Path, size: int, mtime_ns: int) -> str:
    # Keyed by size and mtime too: a file replaced while the process runs is hashed again.
    return file_sha256(path)


class ModelStore:
    """Resolves a model id to its verified ONNX file and labels in one folder."""

    def __init__(self, directory: Path, manifest: Manifest | None = None) -> None:
        self.directory = Path(directory)
        self.manifest = manifest or load_manifest()

    def spec(self, model_id: str) -> ModelSpec:
        """The manifest entry of a model; an unknown id names the known ones."""
        try:
            return self.manifest[model_id]
        except KeyError:
            raise UnknownModelError(model_id, self.manifest.ids) from None

    def onnx_path(self, model_id: str) -> Path:
        """The ONNX file of a model, after checking that it is built and unaltered."""
        spec = self.spec(model_id)
        return self._verified(model_id, self.directory / spec.file, spec.sha256)

    def labels(self, model_id: str) -> list[str]:
        """The model's labels in output order, one per line of its verified labels file."""
        spec = self.spec(model_id)
        if spec.labels is None:
            return []
        path = self._verified(model_id, self.directory / spec.labels.file, spec.labels.sha256)
        # Not splitlines(): a label may be a lone space (OCR) or another line-break character.
        return path.read_text(encoding="utf-8").split("\n")[:-1]

    def is_built(self, model_id: str) -> bool:
        """True when the model and its labels exist with the pinned checksums."""
        try:
            self.onnx_path(model_id)
            self.labels(model_id)
        except (ModelMissingError, ChecksumMismatchError):
            return False
        return True

    def size_bytes(self, model_id: str) -> int | None:
        """Size of the built ONNX file, or None when it is not there."""
        path = self.directory / self.spec(model_id).file
        return path.stat().st_size if path.exists() else None

    def _verified(self, model_id: str, path: Path, expected: str) -> Path:
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise ModelMissingError(model_id, path) from None

        actual = _cached_sha256(path.resolve(), stat.st_size, stat.st_mtime_ns)
        if actual != expected:
            raise ChecksumMismatchError(path, expected, actual)
        return path


def default_model_dir() -> Path:
    """The store folder from the settings: ``KV_MODEL_DIR``, else ``models`` under the data dir."""
    from kubevision.settings import Settings

    return Settings().resolved_model_dir
