"""The blob settings: local by default, S3 only with a bucket and real credentials."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from kubevision.settings import BlobBackend, BlobSettings, Settings


def test_blob_store_defaults_to_a_folder_under_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)

    assert settings.blob.backend is BlobBackend.LOCAL
    assert settings.resolved_blob_dir == (tmp_path / "blobs").resolve()


def test_blob_dir_setting_wins_over_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, blob=BlobSettings(dir=tmp_path / "elsewhere"))

    assert settings.resolved_blob_dir == (tmp_path / "elsewhere").resolve()


def test_s3_backend_with_empty_credentials_is_refused_naming_each() -> None:
    with pytest.raises(ValidationError) as raised:
        BlobSettings(backend=BlobBackend.S3, s3_bucket="b", s3_access_key_id=SecretStr(" "))

    message = str(raised.value)
    assert "KV_BLOB__S3_ACCESS_KEY_ID" in message
    assert "KV_BLOB__S3_SECRET_ACCESS_KEY" in message
    assert "KV_BLOB__S3_BUCKET" not in message


def test_s3_settings_come_from_nested_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KV_BLOB__BACKEND", "s3")
    monkeypatch.setenv("KV_BLOB__S3_BUCKET", "images")
    monkeypatch.setenv("KV_BLOB__S3_ACCESS_KEY_ID", "id")
    monkeypatch.setenv("KV_BLOB__S3_SECRET_ACCESS_KEY", "hunter2-value")

    blob = Settings().blob

    assert (blob.backend, blob.s3_bucket) == (BlobBackend.S3, "images")
    assert "hunter2-value" not in repr(blob)


def test_a_copy_with_other_urls_resolves_to_them(tmp_path: Path) -> None:
    original = Settings(data_dir=tmp_path)
    assert original.is_embedded  # reads the resolved URL before the copy is made

    copy = original.model_copy(update={"broker_url": "amqp://guest:guest@127.0.0.1:5672//"})

    assert copy.resolved_broker_url.startswith("amqp://")
    assert not copy.is_embedded
