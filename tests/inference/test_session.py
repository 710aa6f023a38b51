"""Choosing the execution provider and sizing threads by the CPUs the process really has."""

from __future__ import annotations

import os
from pathlib import Path

import onnxruntime
import pytest

from kubevision.inference.errors import ProviderUnavailableError
from kubevision.inference.registry import ModelSet
from kubevision.inference.session import CPU, CUDA, TENSORRT, choose_providers, cpu_limit
from kubevision.modelstore import ModelStore
from kubevision.settings import ExecutionProvider, Settings

CPU_ONLY = ["AzureExecutionProvider", CPU]
WITH_CUDA = [CUDA, CPU]


def _fake_hardware(monkeypatch: pytest.MonkeyPatch, providers: list[str]) -> None:
    # The provider list describes the machine's hardware, the one thing tests may fake.
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: list(providers))


def test_auto_uses_cuda_when_the_runtime_has_it(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_hardware(monkeypatch, WITH_CUDA)

    assert choose_providers(ExecutionProvider.AUTO, require_gpu=False) == [CUDA, CPU]


def test_auto_falls_back_to_cpu_without_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_hardware(monkeypatch, CPU_ONLY)

    assert choose_providers(ExecutionProvider.AUTO, require_gpu=False) == [CPU]


def test_tensorrt_is_asked_for_before_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_hardware(monkeypatch, [TENSORRT, CUDA, CPU])

    assert choose_providers(ExecutionProvider.TENSORRT, require_gpu=True) == [TENSORRT, CUDA, CPU]


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        (ExecutionProvider.AUTO, CUDA),
        (ExecutionProvider.CUDA, CUDA),
        (ExecutionProvider.TENSORRT, TENSORRT),
    ],
)
def test_require_gpu_without_one_names_the_missing_provider(
    monkeypatch: pytest.MonkeyPatch, setting: ExecutionProvider, named: str
) -> None:
    _fake_hardware(monkeypatch, CPU_ONLY)

    with pytest.raises(ProviderUnavailableError) as caught:
        choose_providers(setting, require_gpu=True)

    assert named in str(caught.value)
    assert caught.value.provider == named


def test_require_gpu_refuses_to_load_a_model_on_cpu(
    monkeypatch: pytest.MonkeyPatch, model_store: ModelStore
) -> None:
    _fake_hardware(monkeypatch, CPU_ONLY)
    models = ModelSet(model_store, Settings(require_gpu=True))

    with pytest.raises(ProviderUnavailableError, match=CUDA):
        models.load(["classify"])


def test_cuda_listed_but_unusable_still_fails_when_gpu_is_required(
    monkeypatch: pytest.MonkeyPatch, model_store: ModelStore
) -> None:
    # The CPU build of onnxruntime cannot start CUDA even when the list claims it can; the
    # session then runs on CPU, which a GPU-only worker must refuse.
    if CUDA in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime really has CUDA, so the session would not fall back")
    _fake_hardware(monkeypatch, WITH_CUDA)
    models = ModelSet(model_store, Settings(require_gpu=True))

    with pytest.raises(ProviderUnavailableError, match=CUDA):
        models.load(["classify"])


def test_cpu_limit_follows_a_cgroup_v2_quota(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("150000 100000\n")

    assert cpu_limit(tmp_path) == 2


def test_cpu_limit_follows_a_cgroup_v1_quota(tmp_path: Path) -> None:
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("100000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")

    assert cpu_limit(tmp_path) == 1


def test_cpu_limit_without_quota_is_the_affinity(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("max 100000\n")

    assert cpu_limit(tmp_path) == len(os.sched_getaffinity(0))
