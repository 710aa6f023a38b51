"""What every blob store shares: content keys, the errors, and the protocol."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Protocol

_HEX = frozenset("0123456789abcdef")


class BlobError(Exception):
    """Base of the blob store's errors."""


class BlobKeyInvalid(BlobError, ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(f"blob key must be a lower-case SHA-256 hex digest, got {key!r}")
        self.key = key


class BlobNotFound(BlobError, KeyError):
    def __init__(self, key: str) -> None:
        super().__init__(f"no blob with key {key!r}")
        self.key = key


class BlobCorrupt(BlobError, ValueError):
    def __init__(self, key: str, actual: str) -> None:
        super().__init__(f"blob {key!r} is damaged: its bytes hash to {actual}")
        self.key = key


class BlobUnavailable(BlobError, OSError):
    """The store did not answer or refused us; another try later may succeed."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"blob store unavailable for {key!r}: {reason}")
        self.key = key


def content_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_key(key: str) -> str:
    """The key itself, or BlobKeyInvalid: keys become paths, so nothing else may pass."""
    if len(key) != 64 or not _HEX.issuperset(key):
        raise BlobKeyInvalid(key)
    return key


def fan_out(key: str) -> str:
    """``ab/cd/abcd...``: two levels keep folders (and S3 key ranges) small."""
    return f"{key[:2]}/{key[2:4]}/{check_key(key)}"


def verified(key: str, data: bytes) -> bytes:
    actual = content_key(data)
    if actual != key:
        raise BlobCorrupt(key, actual)
    return data


class BlobStore(Protocol):
    """Immutable objects keyed by the SHA-256 of their bytes.

    ``put`` is atomic (a reader sees the whole object or none) and does nothing when the key is
    already there; ``get`` checks the bytes against the key before returning them.
    """

    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def keys(self) -> Iterator[str]: ...
    def check(self) -> None: ...
