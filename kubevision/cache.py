"""The Redis cache of uploaded bytes: the worker's fast path to an image for one hour.

The cache is an optimisation only. When Redis is missing, slow or down, every call here
degrades to a miss or a no-op, and callers go to the blob store instead.
"""

from __future__ import annotations

import logging

import redis

logger = logging.getLogger(__name__)

_KEY = "kv:image:{}"


class ImageCache:
    """Uploaded bytes in Redis under their content hash, with a TTL."""

    def __init__(self, client: redis.Redis | None, ttl_s: int) -> None:
        self.client = client
        self.ttl_s = ttl_s
        self.hits = 0
        self.misses = 0

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
            logger.warning("cache write for %s skipped: %s", sha256, exc)

    def get(self, sha256: str) -> bytes | None:
        if self.client is None:
            return None
        try:
            data = self.client.get(_KEY.format(sha256))
        except redis.RedisError as exc:
            logger.warning("cache read for %s failed, using the blob store: %s", sha256, exc)
            data = None
        if data is None:
            self.misses += 1
            return None
        self.hits += 1
        assert isinstance(data, bytes)
        return data
