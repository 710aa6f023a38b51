"""Upload inspection: the decode check's memory is bounded by how many run at once."""

from __future__ import annotations

import io
import threading

from PIL import Image

from kubevision import imaging
from kubevision.imaging import inspect_image
from kubevision.settings import Limits


def test_decode_checks_beyond_the_slots_wait_their_turn() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64)).save(buffer, "PNG")
    limits = Limits(decode_slots=1)
    finished = threading.Event()
    slot = imaging._decode_slot(1)

    slot.acquire()
    checker = threading.Thread(
        target=lambda: (inspect_image(buffer.getvalue(), limits), finished.set()))
    checker.start()
    waited_while_busy = not finished.wait(0.5)
    slot.release()
    checker.join(timeout=10)

    assert waited_while_busy
    assert finished.is_set()
