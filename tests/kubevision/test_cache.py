"""The Redis cache in front of the blob store: fills on a miss, refreshes on a hit, and is
never wrong when Redis is down, evicting, or holds damaged bytes."""

from __future__ import annotations

from pathlib import Path

import redis

from kubevision.blobs import LocalBlobStore, content_key
from kubevision.cache import ImageCache
from tests.support.system import RedisProcess, free_port


def _stores(tmp_path: Path, url: str, data: bytes) -> tuple[ImageCache, LocalBlobStore, str]:
    blobs = LocalBlobStore(tmp_path / "blobs")
    key = content_key(data)
    blobs.put(key, data)
    return ImageCache.from_url(url, ttl_s=3600), blobs, key


def test_a_miss_loads_from_the_blob_store_and_fills_the_cache(
    tmp_path: Path, own_redis: RedisProcess, chelsea_png: bytes
) -> None:
    cache, blobs, key = _stores(tmp_path, own_redis.url, chelsea_png)

    first = cache.read_through(key, blobs.get)
    blobs.delete(key)
    second = cache.read_through(key, blobs.get)

    assert first == second == chelsea_png
    assert cache.stats.snapshot() == {"hits": 1, "misses": 1, "errors": 0, "hit_ratio": 0.5}


def test_a_hit_refreshes_the_ttl(tmp_path: Path, own_redis: RedisProcess,
                                 coffee_png: bytes) -> None:
    cache, _, key = _stores(tmp_path, own_redis.url, coffee_png)
    cache.put(key, coffee_png)
    client = redis.Redis.from_url(own_redis.url)
    client.expire(f"kv:image:{key}", 5)

    assert cache.get(key) == coffee_png

    assert client.ttl(f"kv:image:{key}") > 3500


def test_an_evicted_entry_is_read_from_the_blob_store(
    tmp_path: Path, own_redis: RedisProcess, chelsea_png: bytes
) -> None:
    cache, blobs, key = _stores(tmp_path, own_redis.url, chelsea_png)
    cache.put(key, chelsea_png)
    redis.Redis.from_url(own_redis.url).flushall()

    assert cache.read_through(key, blobs.get) == chelsea_png
    assert cache.stats.misses == 1


def test_a_damaged_entry_is_a_miss_and_is_dropped(
    tmp_path: Path, own_redis: RedisProcess, chelsea_png: bytes
) -> None:
    cache, blobs, key = _stores(tmp_path, own_redis.url, chelsea_png)
    client = redis.Redis.from_url(own_redis.url)
    client.set(f"kv:image:{key}", b"not the image")

    assert cache.read_through(key, blobs.get) == chelsea_png
    assert client.get(f"kv:image:{key}") == chelsea_png


def test_redis_stopped_degrades_to_the_blob_store(
    tmp_path: Path, own_redis: RedisProcess, coffee_png: bytes
) -> None:
    cache, blobs, key = _stores(tmp_path, own_redis.url, coffee_png)
    cache.put(key, coffee_png)
    own_redis.stop()

    cache.put(key, coffee_png)
    data = cache.read_through(key, blobs.get)
    cache.delete(key)

    assert data == coffee_png
    assert cache.stats.snapshot()["errors"] == 4


def test_redis_never_reachable_is_a_miss_every_time(tmp_path: Path, coffee_png: bytes) -> None:
    cache, blobs, key = _stores(tmp_path, f"redis://127.0.0.1:{free_port()}/0", coffee_png)

    assert cache.read_through(key, blobs.get) == coffee_png
    assert cache.get(key) is None
    assert cache.stats.misses == 2


def test_no_redis_configured_counts_misses_without_errors(tmp_path: Path,
                                                          coffee_png: bytes) -> None:
    cache = ImageCache.from_url(None, ttl_s=3600)

    assert cache.get(content_key(coffee_png)) is None
    assert cache.stats.snapshot() == {"hits": 0, "misses": 1, "errors": 0, "hit_ratio": 0.0}
