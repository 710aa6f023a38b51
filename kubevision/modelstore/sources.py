"""Fetching one file out of a released package with the package manager's own client."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from kubevision.modelstore.errors import BuildError
from kubevision.modelstore.manifest import PackageFile


class PackageCache:
    """Downloads each pinned package once into a scratch folder and extracts files from it."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self._archives: dict[str, Path] = {}

    def extract(self, source: PackageFile) -> Path:
        """Write the named file (or archive member) into the scratch folder and return it."""
        archive = self._download(source)
        target = self.scratch / "files" / source.manager / source.package / source.path
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(_read_from_package(archive, source))
        if source.member is None:
            return target

        inner = target.parent / (target.name + ".d") / source.member
        if not inner.exists():
            inner.parent.mkdir(parents=True, exist_ok=True)
            inner.write_bytes(_read_zip_member(target, source.member, source))
        return inner

    def _download(self, source: PackageFile) -> Path:
        key = f"{source.manager}:{source.requirement}"
        if key not in self._archives:
            folder = self.scratch / "packages" / source.manager / source.package
            folder.mkdir(parents=True, exist_ok=True)
            self._archives[key] = _download(source, folder)
        return self._archives[key]


def _download(source: PackageFile, folder: Path) -> Path:
    if source.manager == "pypi":
        # A wheel only: building an sdist would run the package's own code.
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--quiet",
            "--dest",
            str(folder),
            source.requirement,
        ]
        pattern = "*.whl"
    else:
        command = ["npm", "pack", "--silent", "--pack-destination", str(folder), source.requirement]
        pattern = "*.tgz"

    try:
        subprocess.run(command, check=True, capture_output=True, text=True)
    except FileNotFoundError as error:
        raise BuildError(f"cannot download {source.requirement}: {command[0]} not found") from error
    except subprocess.CalledProcessError as error:
        raise BuildError(
            f"cannot download {source.requirement} with {' '.join(command[:3])}: "
            f"{error.stderr.strip()[-500:]}"
        ) from error

    found = sorted(folder.glob(pattern))
    if len(found) != 1:
        raise BuildError(
            f"expected one {pattern} for {source.requirement} in {folder}, got {found}"
        )
    return found[0]


def _read_from_package(archive: Path, source: PackageFile) -> bytes:
    if archive.suffix == ".whl":
        return _read_zip_member(archive, source.path, source)

    with tarfile.open(archive, "r:gz") as tar:
        try:
            member = tar.extractfile(source.path)
        except KeyError:
            member = None
        if member is None:
            raise BuildError(
                f"{source.path!r} is not a file in {archive.name} ({source.describe()})"
            )
        return member.read()


def _read_zip_member(archive: Path, name: str, source: PackageFile) -> bytes:
    with zipfile.ZipFile(archive) as bundle:
        try:
            return bundle.read(name)
        except KeyError:
            raise BuildError(f"{name!r} is not in {archive.name} ({source.describe()})") from None
