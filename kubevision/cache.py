"""The Redis cache in front of the blob store: the fast path to an image's bytes.

Read-through: a read tries Redis first; a miss loads from the blob store and fills the cache.
Uploads write to both. Entries are keyed by content hash, so they can never be stale, and a
hit is checked against its key before use, so a damaged entry is a miss, never a wrong answer.

A hit refreshes the entry's TTL (GETEX): the cache then holds what was read in the last TTL,
not only what was uploaded in it. That is safe because entries are immutable; memory is
bounded by Redis's own ``maxmemory`` with an LRU policy (see docs/storage.md).

The cache is an optimisation only. When Redis is missing, slow, evicting or down, every call
here degrades to a miss or a no-op, and callers go to the blob store instead.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable

import redis

logger = logging.getLogger(__name__)

_KEY = "kv:image:{}"


class CacheStats:
    """Counters of one process, safe to bump from several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.errors = 0

    def count(self, *, hit: bool = False, miss: bool = False, error: bool = False) -> None:
        with self._lock:
            self.hits += hit
            self.misses += miss
            self.errors += error

    def snapshot(self) -> dict[str, int | float]:
        with self._lock:
            reads = self.hits + self.misses
            return {"hits": self.hits, "misses": self.misses, "errors": self.errors,
                    "hit_ratio": round(self.hits / reads, 4) if reads else 0.0}


class ImageCache:
    """Bytes in Redis under their content hash, with a TTL refreshed on every hit."""

    def __init__(self, client: redis.Redis | None, ttl_s: int) -> None:
        self.client = client
        self.ttl_s = ttl_s
        self.stats = CacheStats()

    @classmethod
    def from_url(cls, url: str | None, ttl_s: int) -> ImageCache:
        if url is None:
            return cls(None, ttl_s)
        client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        return cls(client, ttl_s)

    def put(self, sha256: str, data: bytes) -> None:
        if self.client is None:
            return
        try:
            self.client.set(_KEY.format(sha256), data, ex=self.ttl_s)
        except redis.RedisError as exc:
            self.stats.count(error=True)
            logger.warning("cache write for %s skipped: %s", sha256, exc)

    def get(self, sha256: str) -> bytes | None:
        """The cached bytes, or None (a miss) when absent, damaged or Redis is down."""
        if self.client is None:
            self.stats.count(miss=True)
            return None
        try:
            data = self.client.getex(_KEY.format(sha256), ex=self.ttl_s)
        except redis.RedisError as exc:
            self.stats.count(error=True)
            logger.warning("cache read for %s failed, using the blob store: %s", sha256, exc)
            data = None
        if isinstance(data, bytes) and hashlib.sha256(data).hexdigest() != sha256:
            logger.warning("cache entry %s is damaged; dropped", sha256)
            self.delete(sha256)
            data = None
        if data is None:
            self.stats.count(miss=True)
            return None
        self.stats.count(hit=True)
        assert isinstance(data, bytes)
        return data

    def read_through(self, sha256: str, load: Callable[[str], bytes]) -> bytes:
        """The bytes from the cache, or from `load` (then cached); load's errors pass through."""
        data = self.get(sha256)
        if data is None:
            data = load(sha256)
            self.put(sha256, data)
        return data

    def delete(self, sha256: str) -> None:
        if self.client is None:
            return
        try:
            self.client.delete(_KEY.format(sha256))
        except redis.RedisError as exc:
            # The entry expires on its own within the TTL; nothing reads it without a record.
            self.stats.count(error=True)
            logger.warning("cache entry %s not deleted: %s", sha256, exc)
