"""Fixtures shared by the model tests; each test package's conftest re-exports them."""

from __future__ import annotations

import pytest

from kubevision.inference.registry import ModelSet
from kubevision.modelstore import ModelStore
from kubevision.settings import ExecutionProvider, Settings
from tests.support.photos import PhotoShelf
from tests.support.store import built_store, photo_dir


@pytest.fixture(scope="session")
def model_store(pytestconfig: pytest.Config) -> ModelStore:
    return built_store(pytestconfig)


@pytest.fixture(scope="session")
def photos(pytestconfig: pytest.Config) -> PhotoShelf:
    return PhotoShelf(photo_dir(pytestconfig))


@pytest.fixture(scope="session")
def cpu_settings() -> Settings:
    # Built from arguments, not the environment, so a developer's KV_ variables do not leak in.
    return Settings(execution_provider=ExecutionProvider.CPU)


@pytest.fixture(scope="session")
def model_set(model_store: ModelStore, cpu_settings: Settings) -> ModelSet:
    return ModelSet(model_store, cpu_settings)
