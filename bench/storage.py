"""Storage benchmark: the worker's fetch of an image from Redis vs each blob back end, and the
upload endpoint's throughput on each blob back end, in one run.

Everything runs on this machine against servers the script starts itself and stops: a
redis-server on a free port, a moto S3 server (a local stand-in: its figures show our code's
overhead and the protocol round trips, not a real S3's latency), and the upload function under
uvicorn with SQLite metadata. Bounded: --reads fetches and --uploads uploads per back end.
Run: `python bench/storage.py [--reads 300] [--uploads 150] [--clients 4]`.
"""

from __future__ import annotations

import argparse
import io
import logging
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import httpx
from PIL import Image
from skimage import data as skdata

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from functions.upload.app import create_app  # noqa: E402
from kubevision.blobs import BlobStore, LocalBlobStore, content_key  # noqa: E402
from kubevision.blobs.s3 import S3BlobStore  # noqa: E402
from kubevision.cache import ImageCache  # noqa: E402
from kubevision.context import AppContext  # noqa: E402
from kubevision.db.migrate import upgrade_database  # noqa: E402
from kubevision.settings import BlobSettings, Settings  # noqa: E402
from kubevision.storage import read_bytes  # noqa: E402
from tests.conftest import S3_BUCKET, s3_blob_settings, s3_client  # noqa: E402
from tests.support.system import RedisProcess, free_port, serve_in_thread  # noqa: E402


def photo(seed: int | None = None) -> bytes:
    """A 512x512 astronaut JPEG (about 60 KB); a seed makes its bytes unique."""
    image = Image.fromarray(skdata.astronaut())  # type: ignore[no-untyped-call]
    buffer = io.BytesIO()
    # A changed pixel can vanish in JPEG's quantisation; a comment always changes the bytes.
    extra = {} if seed is None else {"comment": f"kubevision bench {seed} {secrets.token_hex(8)}"}
    image.save(buffer, "JPEG", quality=90, **extra)
    return buffer.getvalue()


def timed_ms(action: Callable[[], object], count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return times


def fetch_rows(reads: int, folder: Path, redis_url: str, s3: BlobSettings) -> list[list[str]]:
    """Median and p95 of the worker's fetch path (cache, then blob store) per source."""
    data = photo()
    key = content_key(data)
    stores: dict[str, BlobStore] = {"local folder": LocalBlobStore(folder / "blobs"),
                                    "S3 (moto)": S3BlobStore.from_settings(s3)}
    cache = ImageCache.from_url(redis_url, 3600)
    no_cache = ImageCache(None, 3600)
    rows = []
    for name, store in stores.items():
        store.put(key, data)
        context = AppContext.create(Settings(data_dir=folder))
        miss = AppContext(settings=context.settings, engine=context.engine, blobs=store,
                          cache=no_cache, events=context.events)
        rows.append(_fetch_row(f"blob store: {name}", partial(read_bytes, miss, key), reads))
        context.close()
    cache.put(key, data)
    hit = AppContext(settings=Settings(data_dir=folder), engine=None,  # type: ignore[arg-type]
                     blobs=stores["local folder"], cache=cache, events=None)  # type: ignore[arg-type]
    rows.insert(0, _fetch_row("Redis cache (hit)", lambda: read_bytes(hit, key), reads))
    return rows


def _fetch_row(name: str, action: Callable[[], object], reads: int) -> list[str]:
    action()
    times = timed_ms(action, reads)
    p95 = sorted(times)[int(len(times) * 0.95) - 1]
    return [name, f"{statistics.median(times):.2f}", f"{p95:.2f}", str(reads)]


def upload_rows(uploads: int, clients: int, folder: Path, redis_url: str,
                s3: BlobSettings) -> list[list[str]]:
    """Uploads per second with each blob back end, the upload function over real HTTP."""
    rows = []
    for name, blob in (("local folder", BlobSettings(dir=folder / "up-blobs")), ("S3 (moto)", s3)):
        settings = Settings(data_dir=folder / f"up-{secrets.token_hex(3)}", redis_url=redis_url,
                            blob=blob)
        context = AppContext.create(settings)
        upgrade_database(context.engine)
        context.close()
        bodies = [photo(seed=n) for n in range(uploads)]
        with serve_in_thread(create_app(settings), free_port()) as url, \
                httpx.Client(base_url=url, timeout=30) as client:
            def send(body: bytes, c: httpx.Client = client, back_end: str = name) -> int:
                response = c.post("/upload", files={"file": ("a.jpg", body)})
                if response.status_code != 201:
                    print(f"upload to {back_end} answered {response.status_code}: "
                          f"{response.text[:300]}")
                return response.status_code

            started = time.perf_counter()
            with ThreadPoolExecutor(clients) as pool:
                codes = list(pool.map(send, bodies))
            elapsed = time.perf_counter() - started
        ok = sum(code == 201 for code in codes)
        rows.append([f"upload -> {name}", f"{ok / elapsed:.1f}", f"{elapsed / ok * 1000:.1f}",
                     f"{ok}/{uploads}"])
    return rows


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=300)
    parser.add_argument("--uploads", type=int, default=150)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()

    from moto.server import ThreadedMotoServer

    # moto's server, httpx and the upload function log every request; the table is what we
    # want to read.
    for noisy in ("werkzeug", "httpx", "functions"):
        logging.getLogger(noisy).setLevel(logging.ERROR)

    with tempfile.TemporaryDirectory(prefix="kv-bench-") as scratch:
        folder = Path(scratch)
        redis_server = RedisProcess(folder)
        redis_server.start()
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
        moto.start()
        host, port = moto.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        s3_client(endpoint).create_bucket(Bucket=S3_BUCKET)
        try:
            s3 = s3_blob_settings(endpoint)
            print_table("Worker fetch of one 512x512 JPEG (read_bytes: cache, then store)",
                        ["source", "median ms", "p95 ms", "reads"],
                        fetch_rows(args.reads, folder, redis_server.url, s3))
            print_table(f"Upload endpoint, {args.clients} clients, SQLite metadata, Redis on",
                        ["back end", "uploads/s", "ms per upload", "ok"],
                        upload_rows(args.uploads, args.clients, folder, redis_server.url,
                                    s3_blob_settings(endpoint)))
        finally:
            moto.stop()
            redis_server.stop()


if __name__ == "__main__":
    main()
