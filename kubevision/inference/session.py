"""ONNX Runtime sessions: which execution provider, how many threads, and the loaded model."""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnxruntime

from kubevision.inference.errors import ProviderUnavailableError
from kubevision.inference.results import ModelInfo, Region, TaskResult
from kubevision.modelstore import ModelStore
from kubevision.settings import ExecutionProvider, Settings

logger = logging.getLogger(__name__)

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"


def cpu_limit(cgroup_root: Path = Path("/sys/fs/cgroup")) -> int:
    """CPUs this process may really use: affinity, capped by a cgroup v2 or v1 CPU quota.

    In a container the host's core count is far above the quota; sizing the thread pool by it
    makes the threads fight over a few CPUs and slows every run.
    """
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    quota = _cgroup_quota(cgroup_root)
    limit = min(usable or 1, quota) if quota is not None else (usable or 1)
    return max(1, limit)


def _cgroup_quota(root: Path) -> int | None:
    try:
        # cgroup v2: "<quota> <period>" or "max <period>"
        quota, period = (root / "cpu.max").read_text().split()
        return None if quota == "max" else math.ceil(int(quota) / int(period))
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None if quota_us <= 0 else math.ceil(quota_us / period_us)


def choose_providers(setting: ExecutionProvider, require_gpu: bool) -> list[str]:
    """The provider list to ask ONNX Runtime for, most preferred first, ending with the CPU.

    With ``require_gpu`` a GPU provider that this onnxruntime lacks is an error, not a fallback.
    """
    available = onnxruntime.get_available_providers()
    if setting is ExecutionProvider.CPU:
        if require_gpu:
            raise ProviderUnavailableError("a GPU provider (KV_EXECUTION_PROVIDER=cpu)", available)
        return [CPU]

    wanted = {
        ExecutionProvider.AUTO: [CUDA],
        ExecutionProvider.CUDA: [CUDA],
        ExecutionProvider.TENSORRT: [TENSORRT, CUDA],
    }[setting]
    chosen = [name for name in wanted if name in available]
    if require_gpu and not chosen:
        raise ProviderUnavailableError(wanted[0], available)
    if setting is not ExecutionProvider.AUTO and chosen != wanted:
        missing = [name for name in wanted if name not in chosen]
        logger.warning("execution provider %s not available; using %s", missing, [*chosen, CPU])
    return [*chosen, CPU]


@dataclass
class LoadedModel:
    """A model file open in an ONNX Runtime session, with what results report about it."""

    info: ModelInfo
    session: onnxruntime.InferenceSession
    provider: str
    labels: list[str]

    @property
    def input_name(self) -> str:
        return str(self.session.get_inputs()[0].name)

    def result(
        self,
        task: str,
        duration_ms: float,
        items: list[Region],
        text: str | None = None,
        embedding: list[float] | None = None,
    ) -> TaskResult:
        """A task's result for one image, naming this model and the provider it ran on."""
        return TaskResult(
            task=task,
            model=self.info,
            provider=self.provider,
            duration_ms=duration_ms,
            items=items,
            text=text,
            embedding=embedding,
        )

    def run(self, feeds: dict[str, Any]) -> list[Any]:
        """Run the session on named inputs and return every output in model order."""
        return list(self.session.run(None, feeds))


def open_model(store: ModelStore, model_id: str, settings: Settings) -> LoadedModel:
    """Verify the model in the store and open it on the configured execution provider."""
    path = store.onnx_path(model_id)
    spec = store.spec(model_id)
    providers = choose_providers(settings.execution_provider, settings.require_gpu)

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = cpu_limit()
    # One model runs at a time in a worker process; parallel graph branches only add threads.
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry(
        "session.intra_op.allow_spinning", "1" if settings.ort_spin_wait else "0"
    )
    session = onnxruntime.InferenceSession(str(path), options, providers=providers)

    # A GPU provider that fails to initialise (no driver, wrong CUDA) drops silently to CPU.
    in_use = session.get_providers()[0]
    if settings.require_gpu and in_use == CPU:
        raise ProviderUnavailableError(providers[0], onnxruntime.get_available_providers())
    logger.info(
        "loaded model %s (%s) on %s with %d intra-op threads",
        model_id,
        spec.source.requirement,
        in_use,
        options.intra_op_num_threads,
    )
    info = ModelInfo(id=model_id, version=spec.version, sha256=spec.sha256)
    return LoadedModel(info, session, in_use, store.labels(model_id))
