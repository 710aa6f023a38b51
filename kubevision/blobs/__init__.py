"""The permanent store of images, keyed by the SHA-256 of their bytes.

Two back ends share one protocol: a local folder (the default) and any S3-compatible service.
"""

from __future__ import annotations

from kubevision.blobs.base import (
    BlobCorrupt,
    BlobError,
    BlobKeyInvalid,
    BlobNotFound,
    BlobStore,
    BlobUnavailable,
    content_key,
)
from kubevision.blobs.local import LocalBlobStore
from kubevision.settings import BlobBackend, Settings

__all__ = [
    "BlobCorrupt", "BlobError", "BlobKeyInvalid", "BlobNotFound", "BlobStore",
    "BlobUnavailable", "LocalBlobStore", "content_key", "open_blob_store",
]


def open_blob_store(settings: Settings) -> BlobStore:
    """The blob store the settings choose."""
    if settings.blob.backend is BlobBackend.S3:
        # Imported here so that processes on the local back end never load boto3.
        from kubevision.blobs.s3 import S3BlobStore

        return S3BlobStore.from_settings(settings.blob)
    return LocalBlobStore(settings.resolved_blob_dir)
