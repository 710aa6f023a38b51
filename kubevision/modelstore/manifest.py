"""The manifest: where each model comes from, pinned by package version and sha256."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

from kubevision.modelstore.errors import ModelStoreError

Manager = Literal["pypi", "npm"]
Conversion = Literal["as-is", "torch-export", "tflite"]

MANAGERS: tuple[Manager, ...] = ("pypi", "npm")
CONVERSIONS: tuple[Conversion, ...] = ("as-is", "torch-export", "tflite")


class ManifestError(ModelStoreError, ValueError):
    """A manifest that is not well formed; the message lists every problem found."""


@dataclass(frozen=True)
class PackageFile:
    """One file inside a released package, optionally a member of an archive in it."""

    manager: Manager
    package: str
    version: str
    path: str
    # A zip inside the package (npm's scrypted plugin) holds the real file.
    member: str | None = None

    @property
    def requirement(self) -> str:
        """The package as its own client spells a pinned version."""
        separator = "==" if self.manager == "pypi" else "@"
        return f"{self.package}{separator}{self.version}"

    def describe(self) -> str:
        inner = f"!{self.member}" if self.member else ""
        return f"{self.manager}:{self.requirement}:{self.path}{inner}"


@dataclass(frozen=True)
class LabelsSpec:
    """Where a model's labels come from and the store file they are written to."""

    format: str
    file: str
    sha256: str
    sources: tuple[PackageFile, ...]


@dataclass(frozen=True)
class ModelSpec:
    """One ONNX file in the store and how it is made."""

    id: str
    task: str
    file: str
    sha256: str
    licence: str
    conversion: Conversion
    source: PackageFile
    source_sha256: str
    labels: LabelsSpec | None = None
    options: dict[str, str | int] = field(default_factory=dict)

    @property
    def version(self) -> str:
        """The model's version is the version of the package its weights come from."""
        return self.source.version


@dataclass(frozen=True)
class Manifest:
    """Every model the store can hold, by id, in manifest order."""

    models: dict[str, ModelSpec]

    def __getitem__(self, model_id: str) -> ModelSpec:
        return self.models[model_id]

    @property
    def ids(self) -> list[str]:
        return list(self.models)


def load_manifest(path: Path | None = None) -> Manifest:
    """Read the manifest; without a path, the one shipped inside this package."""
    if path is None:
        text = resources.files("kubevision.modelstore").joinpath("manifest.toml").read_text()
    else:
        text = path.read_text()
    return parse_manifest(tomllib.loads(text))


def parse_manifest(data: dict[str, Any]) -> Manifest:
    """Build a manifest from parsed TOML, reporting every problem at once."""
    problems: list[str] = []
    models: dict[str, ModelSpec] = {}

    for model_id, table in data.get("models", {}).items():
        spec = _parse_model(model_id, table, problems)
        if spec is not None:
            models[model_id] = spec

    if not models and not problems:
        problems.append("no [models.<id>] table")
    if problems:
        raise ManifestError("invalid model manifest: " + "; ".join(problems))
    return Manifest(models)


def _parse_model(model_id: str, table: dict[str, Any], problems: list[str]) -> ModelSpec | None:
    where = f"models.{model_id}"
    before = len(problems)

    conversion = table.get("conversion")
    if conversion not in CONVERSIONS:
        problems.append(f"{where}.conversion is {conversion!r}; expected one of {CONVERSIONS}")
    for key in ("task", "file", "sha256", "licence"):
        if not isinstance(table.get(key), str):
            problems.append(f"{where}.{key} is missing or not a string")
    source = _parse_package_file(f"{where}.source", table.get("source", {}), problems)
    source_sha256 = table.get("source", {}).get("sha256")
    if not isinstance(source_sha256, str):
        problems.append(f"{where}.source.sha256 is missing or not a string")
    labels = _parse_labels(f"{where}.labels", table.get("labels"), problems)

    if len(problems) > before or source is None:
        return None
    return ModelSpec(
        id=model_id,
        task=table["task"],
        file=table["file"],
        sha256=table["sha256"],
        licence=table["licence"],
        conversion=cast(Conversion, conversion),
        source=source,
        source_sha256=cast(str, source_sha256),
        labels=labels,
        options=dict(table.get("options", {})),
    )


def _parse_package_file(
    where: str, table: dict[str, Any], problems: list[str]
) -> PackageFile | None:
    manager = table.get("manager")
    if manager not in MANAGERS:
        problems.append(f"{where}.manager is {manager!r}; expected one of {MANAGERS}")
        return None
    missing = [key for key in ("package", "version", "file") if not isinstance(table.get(key), str)]
    if missing:
        problems.append(f"{where} lacks {', '.join(missing)}")
        return None
    return PackageFile(
        manager=cast(Manager, manager),
        package=table["package"],
        version=table["version"],
        path=table["file"],
        member=table.get("member"),
    )


def _parse_labels(where: str, table: Any, problems: list[str]) -> LabelsSpec | None:
    if table is None:
        return None
    for key in ("format", "file", "sha256"):
        if not isinstance(table.get(key), str):
            problems.append(f"{where}.{key} is missing or not a string")
    sources = [
        _parse_package_file(f"{where}.sources[{index}]", source, problems)
        for index, source in enumerate(table.get("sources", []))
    ]
    if any(source is None for source in sources) or not all(
        isinstance(table.get(key), str) for key in ("format", "file", "sha256")
    ):
        return None
    return LabelsSpec(
        format=table["format"],
        file=table["file"],
        sha256=table["sha256"],
        sources=tuple(source for source in sources if source is not None),
    )
