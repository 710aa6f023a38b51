"""The exceptions of the inference package, all from one base."""

from __future__ import annotations


class InferenceError(Exception):
    """Base of every inference error."""


class ProviderUnavailableError(InferenceError, RuntimeError):
    """The configured execution provider cannot be used, and falling back is not allowed."""

    def __init__(self, provider: str, available: list[str]) -> None:
        self.provider = provider
        self.available = available
        super().__init__(
            f"execution provider {provider} is not available (available: "
            f"{', '.join(available) or 'none'}); install onnxruntime-gpu with a working CUDA, "
            "or unset KV_REQUIRE_GPU to allow the CPU"
        )


class UnknownTaskError(InferenceError, ValueError):
    """A task name that no model serves."""

    def __init__(self, task: str, known: tuple[str, ...]) -> None:
        self.task = task
        super().__init__(f"unknown task {task!r}; expected one of {', '.join(known)}")
