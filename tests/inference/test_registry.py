"""The model set loads each task's models once and runs any mix of tasks on one image."""

from __future__ import annotations

import pytest

from kubevision.inference.errors import UnknownTaskError
from kubevision.inference.registry import TASK_NAMES, ModelSet
from kubevision.inference.results import TaskOptions
from kubevision.modelstore import ModelStore
from kubevision.settings import Settings
from tests.support.photos import PhotoShelf


def test_model_set_runs_all_tasks_with_one_result_shape(
    model_set: ModelSet, photos: PhotoShelf
) -> None:
    results = model_set.run(photos.open("bus.jpg"), list(TASK_NAMES))

    assert set(results) == set(TASK_NAMES)
    for task, result in results.items():
        assert result.task == task
        assert result.provider == "CPUExecutionProvider"
        assert len(result.model.sha256) == 64
        assert result.duration_ms > 0


def test_model_set_loads_lazily_and_once(model_store: ModelStore, cpu_settings: Settings) -> None:
    models = ModelSet(model_store, cpu_settings)
    assert models.describe()["tasks_loaded"] == []

    models.load(["classify"])
    first = models._sessions["efficientnet-lite0"]
    models.load(["classify", "detect"])

    described = models.describe()
    assert described["tasks_loaded"] == ["classify", "detect"]
    assert models._sessions["efficientnet-lite0"] is first
    assert described["models"]["efficientnet-lite0"]["provider"] == "CPUExecutionProvider"


def test_model_set_refuses_an_unknown_task(model_set: ModelSet, photos: PhotoShelf) -> None:
    with pytest.raises(UnknownTaskError, match="segment"):
        model_set.run(photos.open("coffee.png"), ["classify", "segment"])


def test_task_options_reject_bad_values() -> None:
    with pytest.raises(ValueError, match="score_threshold"):
        TaskOptions(score_threshold=1.5)
    with pytest.raises(ValueError, match="max_results"):
        TaskOptions(max_results=0)
