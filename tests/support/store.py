"""The model store the tests run against, built once when it is missing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kubevision.modelstore import ModelStore
from kubevision.modelstore.build import build_models


def model_dir(config: pytest.Config) -> Path:
    """``KV_MODEL_DIR`` when set, else a folder in pytest's cache."""
    configured = os.environ.get("KV_MODEL_DIR")
    if configured:
        return Path(configured)
    return Path(config.cache.mkdir("kubevision-models")) if config.cache else Path(".models")


def built_store(config: pytest.Config) -> ModelStore:
    """A store with every manifest model built and verified (a no-op when already built)."""
    store = ModelStore(model_dir(config))
    build_models(store)
    return store


def photo_dir(config: pytest.Config) -> Path:
    configured = os.environ.get("KV_TEST_PHOTOS_DIR")
    if configured:
        return Path(configured)
    return Path(config.cache.mkdir("kubevision-photos")) if config.cache else Path(".photos")
