"""The exceptions of the model store, all from one base."""

from __future__ import annotations

from pathlib import Path

BUILD_COMMAND = "kubevision models build"


class ModelStoreError(Exception):
    """Base of every model-store error."""


class UnknownModelError(ModelStoreError, KeyError):
    """A model id that the manifest does not list."""

    def __init__(self, model_id: str, known: list[str]) -> None:
        self.model_id = model_id
        super().__init__(f"unknown model {model_id!r}; the manifest lists {', '.join(known)}")

    def __str__(self) -> str:
        # KeyError quotes its argument; the sentence reads better as it is.
        return str(self.args[0])


class ModelMissingError(ModelStoreError, FileNotFoundError):
    """A model listed in the manifest that has not been built into the store."""

    def __init__(self, model_id: str, path: Path) -> None:
        self.model_id = model_id
        self.path = path
        super().__init__(
            f"model {model_id!r} is not built: {path} does not exist; "
            f"run `{BUILD_COMMAND} {model_id} --model-dir {path.parent}`"
        )

    def __str__(self) -> str:
        return str(self.args[0])


class ChecksumMismatchError(ModelStoreError, ValueError):
    """A file whose sha256 is not the one pinned in the manifest."""

    def __init__(self, path: Path, expected: str, actual: str) -> None:
        self.path = path
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"checksum mismatch for {path}: expected sha256 {expected}, got {actual}; "
            f"delete it and run `{BUILD_COMMAND}`"
        )


class BuildError(ModelStoreError, RuntimeError):
    """A model whose source could not be fetched or converted."""
