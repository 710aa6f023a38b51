"""Both blob back ends pass the same contract: content keys, atomic puts, verified reads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubevision.blobs import (
    BlobCorrupt,
    BlobKeyInvalid,
    BlobNotFound,
    BlobStore,
    BlobUnavailable,
    LocalBlobStore,
    content_key,
)
from kubevision.blobs.s3 import S3BlobStore
from tests.conftest import S3_BUCKET, s3_blob_settings, s3_client
from tests.support.system import free_port


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "blobs")
        return
    endpoint = request.getfixturevalue("s3_endpoint")
    yield S3BlobStore.from_settings(s3_blob_settings(endpoint))


def _damage(store: BlobStore, key: str, data: bytes) -> None:
    """Overwrite the stored object behind the store's back, as a bad disk or bucket would."""
    if isinstance(store, LocalBlobStore):
        store._path(key).write_bytes(data)
    else:
        assert isinstance(store, S3BlobStore)
        store.client.put_object(Bucket=store.bucket, Key=store._name(key), Body=data)


def test_put_then_get_returns_the_same_bytes(store: BlobStore, chelsea_png: bytes) -> None:
    key = content_key(chelsea_png)

    store.put(key, chelsea_png)

    assert store.exists(key)
    assert store.get(key) == chelsea_png


def test_put_of_a_present_key_keeps_the_first_copy(store: BlobStore, coffee_png: bytes) -> None:
    key = content_key(coffee_png)
    store.put(key, coffee_png)

    store.put(key, coffee_png)

    assert list(store.keys()).count(key) == 1


def test_get_of_a_missing_key_raises_not_found(store: BlobStore) -> None:
    key = content_key(b"never stored")

    with pytest.raises(BlobNotFound) as raised:
        store.get(key)

    assert raised.value.key == key
    assert not store.exists(key)


def test_damaged_bytes_are_refused_on_read(store: BlobStore, chelsea_png: bytes) -> None:
    key = content_key(chelsea_png)
    store.put(key, chelsea_png)

    _damage(store, key, chelsea_png[:-10] + b"0123456789")

    with pytest.raises(BlobCorrupt, match=key):
        store.get(key)


def test_delete_removes_the_blob_and_is_idempotent(store: BlobStore, coffee_png: bytes) -> None:
    key = content_key(coffee_png)
    store.put(key, coffee_png)

    store.delete(key)
    store.delete(key)

    assert not store.exists(key)
    assert key not in set(store.keys())


@pytest.mark.parametrize("key", ["../../etc/passwd", "A" * 64, "ab", ""])
def test_keys_that_are_not_sha256_digests_are_refused(store: BlobStore, key: str) -> None:
    with pytest.raises(BlobKeyInvalid):
        store.put(key, b"x")


def test_keys_lists_every_stored_blob(store: BlobStore) -> None:
    blobs = [f"blob {n}".encode() for n in range(5)]
    for data in blobs:
        store.put(content_key(data), data)

    assert set(store.keys()) == {content_key(data) for data in blobs}


def test_concurrent_puts_of_one_key_leave_one_whole_object(store: BlobStore,
                                                           chelsea_png: bytes) -> None:
    key = content_key(chelsea_png)
    threads = [threading.Thread(target=store.put, args=(key, chelsea_png)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert store.get(key) == chelsea_png
    if isinstance(store, LocalBlobStore):
        assert not list(store.root.rglob(".incoming-*")), "a temporary file was left behind"


def test_check_passes_on_a_reachable_store(store: BlobStore) -> None:
    store.check()


def test_s3_store_that_cannot_be_reached_is_unavailable_not_missing() -> None:
    settings = s3_blob_settings(f"http://127.0.0.1:{free_port()}")
    store = S3BlobStore.from_settings(settings)
    store.client.meta.config.retries = {"max_attempts": 1}

    with pytest.raises(BlobUnavailable):
        store.get(content_key(b"anything"))


def test_s3_objects_live_under_the_prefix(s3_endpoint: str, coffee_png: bytes) -> None:
    settings = s3_blob_settings(s3_endpoint)
    key = content_key(coffee_png)

    S3BlobStore.from_settings(settings).put(key, coffee_png)

    listed = s3_client(s3_endpoint).list_objects_v2(Bucket=S3_BUCKET, Prefix=settings.s3_prefix)
    assert [item["Key"] for item in listed["Contents"]] == [
        f"{settings.s3_prefix}{key[:2]}/{key[2:4]}/{key}"]
