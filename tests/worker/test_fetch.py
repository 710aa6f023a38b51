"""The worker's fetch of a task's image: the cache when it can, the blob store when it must,
and a quiet end when the image was deleted."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from kubevision.blobs import content_key
from kubevision.cache import ImageCache
from kubevision.context import AppContext
from kubevision.settings import Settings
from kubevision.storage import delete_image
from tests.support.system import RedisProcess, free_port, make_task
from worker.fetch import ImageDeleted, PermanentFailure, fetch_image_bytes


@pytest.fixture()
def redis_down(settings: Settings) -> Iterator[AppContext]:
    """The session's resources, but with the cache pointed at a port nothing listens on."""
    created = AppContext.create(settings)
    closed = ImageCache.from_url(f"redis://127.0.0.1:{free_port()}/0", settings.cache_ttl_s)
    yield replace(created, cache=closed)
    created.close()


def test_fetch_reads_from_the_blob_store_when_redis_is_down(
    redis_down: AppContext, unique_jpeg: bytes
) -> None:
    image_id, _ = make_task(redis_down, unique_jpeg)

    assert fetch_image_bytes(redis_down, image_id) == unique_jpeg
    assert redis_down.cache.stats.snapshot()["misses"] == 1


def test_fetch_after_redis_stops_midway_still_succeeds(
    context: AppContext, own_redis: RedisProcess, unique_jpeg: bytes
) -> None:
    own = replace(context, cache=ImageCache.from_url(own_redis.url, 3600))
    image_id, _ = make_task(own, unique_jpeg)
    own.cache.put(content_key(unique_jpeg), unique_jpeg)
    assert fetch_image_bytes(own, image_id) == unique_jpeg

    own_redis.stop()

    assert fetch_image_bytes(own, image_id) == unique_jpeg
    assert own.cache.stats.snapshot()["hits"] == 1


def test_fetch_of_a_deleted_image_ends_quietly(context: AppContext, unique_jpeg: bytes) -> None:
    image_id, _ = make_task(context, unique_jpeg)
    delete_image(context, image_id)

    with pytest.raises(ImageDeleted):
        fetch_image_bytes(context, image_id)


def test_fetch_of_a_record_without_bytes_is_a_permanent_failure(
    redis_down: AppContext, unique_jpeg: bytes
) -> None:
    image_id, _ = make_task(redis_down, unique_jpeg)
    redis_down.blobs.delete(content_key(unique_jpeg))

    with pytest.raises(PermanentFailure) as raised:
        fetch_image_bytes(redis_down, image_id)

    assert raised.value.code == "image_unavailable"
    assert not isinstance(raised.value, ImageDeleted)
