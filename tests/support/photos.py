"""Real photographs for the model tests, read from the packages that ship them.

scikit-image is in the test extra. matplotlib's and ultralytics' photos come out of their
wheels, fetched with ``pip download --no-deps`` and never installed (ultralytics is AGPL),
and are cached in ``KV_TEST_PHOTOS_DIR`` or in pytest's cache folder.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from PIL import Image

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
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--quiet",
                "--dest",
                folder,
                requirement,
            ],
            check=True,
        )
        (wheel,) = Path(folder).glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            return archive.read(member)
