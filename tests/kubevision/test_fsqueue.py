"""The embedded queue: messages arrive whole while readers poll, and a bad file is skipped."""

from __future__ import annotations

import threading
from pathlib import Path

from kombu import Connection

from kubevision.fsqueue import Transport

QUEUE = "kv.test"


def _connection(folder: Path) -> Connection:
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(exist_ok=True)
    options = {"data_folder_in": str(folder / "queue"), "data_folder_out": str(folder / "queue"),
               "processed_folder": str(folder / "processed"),
               "control_folder": str(folder / "control"), "polling_interval": 0.001}
    return Connection("filesystem://", transport=Transport, transport_options=options)


def test_every_message_arrives_whole_while_a_reader_polls(tmp_path: Path) -> None:
    count = 300
    received: list[dict[str, object]] = []

    def read() -> None:
        with _connection(tmp_path) as connection:
            queue = connection.SimpleQueue(QUEUE)
            while len(received) < count:
                message = queue.get(timeout=10)
                received.append(message.payload)
                message.ack()

    reader = threading.Thread(target=read)
    reader.start()
    with _connection(tmp_path) as connection:
        queue = connection.SimpleQueue(QUEUE)
        for index in range(count):
            queue.put({"index": index, "padding": "x" * 20_000})
    reader.join(timeout=60)

    assert sorted(int(str(item["index"])) for item in received) == list(range(count))
    assert not list((tmp_path / "queue").glob("*.part"))


def test_an_unreadable_message_file_is_skipped(tmp_path: Path) -> None:
    with _connection(tmp_path) as connection:
        queue = connection.SimpleQueue(QUEUE)
        (tmp_path / "queue" / f"1_broken.{QUEUE}.msg").write_bytes(b"")
        queue.put({"index": 1})

        first = queue.get(timeout=5)

        assert first.payload == {"index": 1}


def test_queues_bound_at_once_are_all_kept_and_the_table_is_always_readable(
    tmp_path: Path
) -> None:
    errors: list[Exception] = []
    binding = threading.Event()

    def bind(index: int) -> None:
        with _connection(tmp_path) as connection:
            binding.wait()
            name = f"kv.test{index}"
            connection.default_channel._queue_bind("kv.exchange", name, "", name)

    def read() -> None:
        with _connection(tmp_path) as connection:
            binding.wait()
            for _ in range(300):
                try:
                    connection.default_channel.get_table("kv.exchange")
                except Exception as exc:  # noqa: BLE001 - any failure to read is the defect
                    errors.append(exc)

    threads = [threading.Thread(target=bind, args=(i,)) for i in range(8)]
    threads.append(threading.Thread(target=read))
    for thread in threads:
        thread.start()
    binding.set()
    for thread in threads:
        thread.join(timeout=30)

    with _connection(tmp_path) as connection:
        table = connection.default_channel.get_table("kv.exchange")
    assert errors == []
    assert sorted(entry.queue for entry in table) == sorted(f"kv.test{i}" for i in range(8))
