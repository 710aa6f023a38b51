"""The embedded run's message queue: Kombu's filesystem transport, made safe for several readers.

Kombu writes a message straight into its final file name, so a worker polling the folder can
take the file while it is still empty and stop on the JSON error. Here a message is written
under a name the readers ignore and then renamed, which is atomic within one folder; and a
message that cannot be parsed is logged and skipped rather than stopping the worker.
"""

from __future__ import annotations

import logging
import os
import uuid
from queue import Empty
from time import monotonic
from typing import Any

from kombu.transport import filesystem
from kombu.utils.json import dumps

logger = logging.getLogger(__name__)

# Celery's ``broker_transport`` setting takes this path.
TRANSPORT = "kubevision.fsqueue:Transport"


class Channel(filesystem.Channel):
    """Kombu's filesystem channel with atomic writes and tolerant reads."""

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        # Readers only look at "<stamp>_<id>.<queue>.msg"; the ".part" name is never read.
        final = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        partial = os.path.join(self.data_folder_out, f"{uuid.uuid4()}.part")
        with open(partial, "wb") as handle:
            handle.write(dumps(payload).encode())
        os.replace(partial, os.path.join(self.data_folder_out, final))

    def _get(self, queue: str) -> Any:
        try:
            return super()._get(queue)
        except ValueError as exc:
            logger.error("skipped an unreadable message on queue %s: %s", queue, exc)
            raise Empty() from exc


class Transport(filesystem.Transport):
    Channel = Channel
