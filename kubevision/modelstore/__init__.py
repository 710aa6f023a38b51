"""Pinned, checksummed ONNX models built from package sources.

``manifest.toml`` says where each model comes from; ``build`` turns those sources into ONNX
files in a store folder; ``store`` hands verified paths and labels to the worker.
"""

from kubevision.modelstore.manifest import Manifest, ModelSpec, load_manifest
from kubevision.modelstore.store import (
    ChecksumMismatchError,
    ModelMissingError,
    ModelStore,
    ModelStoreError,
    UnknownModelError,
)

__all__ = [
    "ChecksumMismatchError",
    "Manifest",
    "ModelMissingError",
    "ModelSpec",
    "ModelStore",
    "ModelStoreError",
    "UnknownModelError",
    "load_manifest",
]
