"""The embedded run's message queue: Kombu's filesystem transport, made safe for several readers.

Kombu writes a message, and a queue's binding to its exchange, straight into the final file,
so another process can read the file while it is still empty and stop on the JSON error. Here
both are written under a name nobody reads and then renamed, which is atomic within one
folder. Bindings also take a lock, so that two processes binding at once both keep their
queue, and are remembered per folder rather than per process. A message that cannot be parsed
is logged and skipped rather than stopping the worker.
"""

from __future__ import annotations

import logging
import os
import uuid
from queue import Empty
from time import monotonic
from typing import Any

from kombu.transport import filesystem, virtual
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

    def queue_bind(self, queue: str, exchange: str | None = None, routing_key: str = "",
                   arguments: Any = None, **kwargs: Any) -> None:
        # Kombu marks a binding as made in the process before it writes the binding file, and
        # skips both for the next connection that binds: that connection could publish before
        # the file exists, and the message would be routed nowhere. The file comes first here.
        exchange = exchange or "amq.direct"
        meta = self.typeof(exchange).prepare_bind(queue, exchange, routing_key, arguments)
        self._queue_bind(exchange, *meta)
        super().queue_bind(queue, exchange, routing_key, arguments, **kwargs)

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str, queue: str) -> None:
        table_file = self._exchange_file(exchange)
        self.control_folder.mkdir(exist_ok=True)
        entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with open(self.control_folder / f"{exchange}.lock", "a") as guard:
            filesystem.lock(guard, filesystem.LOCK_EX)
            try:
                table = self.get_table(exchange)
                if entry not in table:
                    partial = self.control_folder / f"{uuid.uuid4()}.part"
                    partial.write_bytes(dumps([entry, *table]).encode())
                    os.replace(partial, table_file)
            finally:
                filesystem.unlock(guard)

    def _get(self, queue: str) -> Any:
        try:
            return super()._get(queue)
        except ValueError as exc:
            logger.error("skipped an unreadable message on queue %s: %s", queue, exc)
            raise Empty() from exc


class Transport(filesystem.Transport):
    """Kombu's filesystem transport, with its declared bindings kept per control folder.

    Kombu keeps one binding state for the whole process, so a second system in the same
    process (another data folder, the same queue name) would skip writing its binding and its
    messages would go nowhere. Connections on one folder still share one state.
    """

    Channel = Channel
    _states: dict[str, virtual.BrokerState] = {}

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        folder = os.path.abspath(client.transport_options.get("control_folder", "control"))
        self.state = self._states.setdefault(folder, virtual.BrokerState())
