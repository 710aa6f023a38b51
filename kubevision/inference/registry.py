"""The models a worker serves: loaded on first use, then kept warm for the process."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from PIL import Image

from kubevision.inference.classify import Classifier
from kubevision.inference.detect import Detector
from kubevision.inference.errors import UnknownTaskError
from kubevision.inference.faces import FaceDetector
from kubevision.inference.normalize import to_upright_rgb
from kubevision.inference.ocr import TextReader
from kubevision.inference.results import TaskOptions, TaskResult
from kubevision.inference.session import LoadedModel, choose_providers, open_model
from kubevision.inference.tasks import TASK_NAMES
from kubevision.modelstore import ModelStore
from kubevision.settings import Settings

__all__ = ["TASK_NAMES", "ModelSet", "TaskModel"]

logger = logging.getLogger(__name__)


class TaskModel(Protocol):
    """What every task module's model class offers."""

    task: str

    def run(self, images: list[Image.Image], options: TaskOptions) -> list[TaskResult]: ...


def _task_factories() -> dict[str, tuple[tuple[str, ...], Callable[..., TaskModel]]]:
    # Each task: the store models it needs, and how to make the task model from them.
    return {
        "classify": (Classifier.model_ids, Classifier),
        "detect": (Detector.model_ids, Detector),
        "faces": (FaceDetector.model_ids, FaceDetector),
        "ocr": (TextReader.model_ids, TextReader),
    }


class ModelSet:
    """Loads each requested task's models once, lazily, and runs tasks on one image."""

    def __init__(self, store: ModelStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self._factories = _task_factories()
        self._loaded: dict[str, TaskModel] = {}
        self._sessions: dict[str, LoadedModel] = {}
        self._lock = threading.Lock()

    def load(self, tasks: list[str]) -> None:
        """Load the models of these tasks now (a worker warms up before taking work)."""
        for task in tasks:
            self._model_for(task)

    def run(
        self, image: Image.Image, tasks: list[str], options: dict[str, TaskOptions] | None = None
    ) -> dict[str, TaskResult]:
        """Run each task on the image; boxes are in pixels of its upright RGB version."""
        unknown = [task for task in tasks if task not in TASK_NAMES]
        if unknown:
            raise UnknownTaskError(unknown[0], TASK_NAMES)

        upright = to_upright_rgb(image)
        options = options or {}
        return {
            task: self._model_for(task).run([upright], options.get(task, TaskOptions()))[0]
            for task in tasks
        }

    def describe(self) -> dict[str, Any]:
        """Loaded models and the provider each runs on, for health and readiness endpoints."""
        return {
            "tasks_loaded": sorted(self._loaded),
            "models": {
                model_id: {"provider": model.provider, **model.info.model_dump()}
                for model_id, model in self._sessions.items()
            },
            "providers_requested": choose_providers(
                self.settings.execution_provider, self.settings.require_gpu
            ),
        }

    @property
    def provider(self) -> str:
        """The execution provider the loaded models run on (the first one's, if they differ)."""
        providers = sorted({model.provider for model in self._sessions.values()})
        return providers[0] if providers else "none"

    def readiness(self) -> str:
        """"ok" once models are loaded on the providers the settings demand, else why not."""
        if not self._sessions:
            return "error: no model loaded yet"
        return "ok"

    def _model_for(self, task: str) -> TaskModel:
        if task not in self._factories:
            raise UnknownTaskError(task, tuple(self._factories))
        with self._lock:
            if task not in self._loaded:
                model_ids, factory = self._factories[task]
                sessions = [self._session(model_id) for model_id in model_ids]
                self._loaded[task] = factory(*sessions)
                logger.info("task %s ready with %s", task, ", ".join(model_ids))
            return self._loaded[task]

    def _session(self, model_id: str) -> LoadedModel:
        if model_id not in self._sessions:
            self._sessions[model_id] = open_model(self.store, model_id, self.settings)
        return self._sessions[model_id]
