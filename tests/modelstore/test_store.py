"""The store refuses missing and altered models, with messages that say what to do."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kubevision.modelstore import (
    ChecksumMismatchError,
    ModelMissingError,
    ModelStore,
    ModelStoreError,
    UnknownModelError,
)
from kubevision.modelstore.store import file_sha256

MODEL = "efficientnet-lite0"


def _copy_of(store: ModelStore, folder: Path) -> ModelStore:
    spec = store.spec(MODEL)
    for name in (spec.file, spec.labels.file if spec.labels else None):
        if name:
            shutil.copyfile(store.directory / name, folder / name)
    return ModelStore(folder, store.manifest)


def test_store_resolves_a_built_model_with_its_labels(model_store: ModelStore) -> None:
    path = model_store.onnx_path(MODEL)

    assert path.name == "efficientnet-lite0.onnx"
    assert file_sha256(path) == model_store.spec(MODEL).sha256
    assert len(model_store.labels(MODEL)) == 1000
    assert model_store.labels(MODEL)[281] == "tabby"


def test_store_missing_model_names_the_build_command(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)

    with pytest.raises(ModelMissingError) as caught:
        store.onnx_path(MODEL)

    assert "kubevision models build" in str(caught.value)
    assert isinstance(caught.value, FileNotFoundError)
    assert isinstance(caught.value, ModelStoreError)
    assert not store.is_built(MODEL)


def test_store_detects_an_altered_model(model_store: ModelStore, tmp_path: Path) -> None:
    store = _copy_of(model_store, tmp_path)
    assert store.is_built(MODEL)
    model = tmp_path / store.spec(MODEL).file
    with model.open("r+b") as stream:
        stream.seek(-1000, 2)
        stream.write(b"\x00" * 8)

    with pytest.raises(ChecksumMismatchError) as caught:
        store.onnx_path(MODEL)

    message = str(caught.value)
    assert str(model) in message
    assert store.spec(MODEL).sha256 in message
    assert file_sha256(model) in message
    assert isinstance(caught.value, ValueError)


def test_store_detects_altered_labels(model_store: ModelStore, tmp_path: Path) -> None:
    store = _copy_of(model_store, tmp_path)
    labels = tmp_path / "imagenet-1k.labels.txt"
    labels.write_text(labels.read_text().replace("tabby", "tabbz"))

    with pytest.raises(ChecksumMismatchError):
        store.labels(MODEL)


def test_store_unknown_model_lists_known_ones(tmp_path: Path) -> None:
    with pytest.raises(UnknownModelError) as caught:
        ModelStore(tmp_path).onnx_path("resnet-9000")

    assert "resnet-9000" in str(caught.value)
    assert MODEL in str(caught.value)
    assert isinstance(caught.value, KeyError)
