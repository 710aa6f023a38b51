"""Fixtures shared by the whole suite.

The suite runs against one of two back ends, chosen by KV_TEST_BACKEND:
- `embedded` (default): SQLite, a blob folder, Celery over the filesystem transport, no Redis;
- `services`: the real PostgreSQL, Redis and RabbitMQ on localhost (URLs overridable with
  KV_TEST_POSTGRES_URL, KV_TEST_REDIS_URL, KV_TEST_AMQP_URL).
Each test session gets its own database (and its own Redis database number), so runs never
see each other's rows.
"""

from __future__ import annotations

import io
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy
import pytest
from PIL import Image
from pydantic import SecretStr
from skimage import data as skdata
from sqlalchemy import Engine, create_engine, text

from kubevision.context import AppContext
from kubevision.db.migrate import upgrade_database
from kubevision.local import LocalSystem, plan, start
from kubevision.settings import BlobBackend, BlobSettings, Settings
from tests.support.store import built_store
from tests.support.system import (
    RedisProcess,
    delete_queues,
    free_port,
    free_port_block,
    purge_queue,
)

BACKEND = os.environ.get("KV_TEST_BACKEND", "embedded")
POSTGRES_URL = os.environ.get("KV_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("KV_TEST_REDIS_URL", "redis://127.0.0.1:6379")
AMQP_URL = os.environ.get("KV_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


def pytest_report_header() -> str:
    return f"kubevision test backend: {BACKEND}"


@pytest.fixture(scope="session")
def model_dir(pytestconfig: pytest.Config) -> Path:
    """The built model store (`scripts/install` builds it; built here when missing)."""
    return built_store(pytestconfig).directory


@pytest.fixture(scope="session")
def service_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """KV_* URL settings for this session's back end, on fresh databases."""
    if BACKEND == "embedded":
        yield {}
        return
    if BACKEND != "services":
        raise pytest.UsageError(f"KV_TEST_BACKEND={BACKEND!r}; use 'embedded' or 'services'")

    name = f"kv_test_{secrets.token_hex(4)}"
    admin = create_engine(f"{POSTGRES_URL}/postgres".replace("postgresql://",
                                                             "postgresql+psycopg2://"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    redis_db = 1 + secrets.randbelow(14)
    urls = {"database_url": f"{POSTGRES_URL}/{name}", "redis_url": f"{REDIS_URL}/{redis_db}",
            "broker_url": AMQP_URL}
    purge_queue(AMQP_URL, Settings().queue)
    yield urls

    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture()
def new_database(service_urls: dict[str, Any]) -> Iterator[Callable[[], dict[str, str]]]:
    """Makes URL settings for one more empty database (PostgreSQL on the services back end;
    on the embedded one, SQLite in the data folder, so nothing to make)."""
    made: list[str] = []

    def make() -> dict[str, str]:
        if BACKEND == "embedded":
            return {}
        made.append(_create_database())
        return {**service_urls, "database_url": f"{POSTGRES_URL}/{made[-1]}"}

    yield make
    _drop_databases(made)


def _create_database() -> str:
    name = f"kv_test_{secrets.token_hex(4)}"
    admin = _postgres_admin()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name


def _drop_databases(names: list[str]) -> None:
    admin = _postgres_admin()
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _postgres_admin() -> Engine:
    return create_engine(f"{POSTGRES_URL}/postgres".replace("postgresql://",
                                                            "postgresql+psycopg2://"),
                         isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kv-data")


def make_settings(data_dir: Path, service_urls: dict[str, Any], model_dir: Path,
                  **overrides: object) -> Settings:
    values: dict[str, object] = {"data_dir": data_dir, "model_dir": model_dir, **service_urls}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def settings(session_dir: Path, service_urls: dict[str, Any], model_dir: Path) -> Settings:
    """Settings for in-process apps, on a migrated database shared by the session."""
    resolved = make_settings(session_dir, service_urls, model_dir)
    context = AppContext.create(resolved)
    upgrade_database(context.engine)
    context.close()
    return resolved


@pytest.fixture()
def context(settings: Settings) -> Iterator[AppContext]:
    created = AppContext.create(settings)
    yield created
    created.close()


def scikit_photo(name: str) -> numpy.ndarray:
    """One of scikit-image's public-domain photos, by name (its loaders are untyped)."""
    return numpy.asarray(getattr(skdata, name)())


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def chelsea_png() -> bytes:
    """A tabby cat, public domain, from scikit-image's data."""
    return encode(Image.fromarray(scikit_photo("chelsea")), "PNG")


@pytest.fixture(scope="session")
def coffee_png() -> bytes:
    """A cup of espresso, public domain, from scikit-image's data."""
    return encode(Image.fromarray(scikit_photo("coffee")), "PNG")


@pytest.fixture()
def unique_jpeg() -> bytes:
    """A real photo made unique by a corner of random 8x8 squares, so neither it nor anything
    derived from it (a thumbnail halves it) is ever a duplicate of another test's upload."""
    pixels = scikit_photo("astronaut").copy()
    squares = numpy.frombuffer(secrets.token_bytes(4 * 4 * 3), dtype=numpy.uint8)
    pixels[:32, :32] = numpy.kron(squares.reshape(4, 4, 3), numpy.ones((8, 8, 1), numpy.uint8))
    return encode(Image.fromarray(pixels), "JPEG", quality=95)


@pytest.fixture()
def port() -> int:
    return free_port()


def _dispose(system: LocalSystem) -> None:
    """Stop a test system and remove what it had on the shared services."""
    system.stop()
    delete_queues(system.settings)
    if BACKEND == "services" and system.settings.database_url:
        _drop_databases([system.settings.database_url.rsplit("/", 1)[1]])


def launch_system(base_dir: Path, service_urls: dict[str, Any], model_dir: Path,
                  split: bool = False, **overrides: str) -> LocalSystem:
    """Start a whole local system (functions, bridge, worker as processes) and wait for it.

    Like a cluster of its own, it has its own database and queue (and blob folder): a
    worker that shared another system's queue would take tasks whose blobs it cannot see."""
    data_dir = Path(tempfile.mkdtemp(dir=base_dir))
    urls = dict(service_urls)
    if BACKEND == "services":
        urls["database_url"] = f"{POSTGRES_URL}/{_create_database()}"
    system_settings = make_settings(data_dir, urls, model_dir,
                                    queue=f"kubevision.test.{secrets.token_hex(4)}")
    system_plan = plan("127.0.0.1", free_port_block(6), split, free_port())
    extra_env = {f"KV_{key.upper()}": value for key, value in overrides.items()}
    system = start(system_settings, system_plan, log_dir=data_dir / "logs", extra_env=extra_env)
    try:
        system.wait_ready(timeout_s=120)
    except (TimeoutError, RuntimeError) as exc:
        system.stop()
        logs = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}"
                         for p in sorted((data_dir / "logs").glob("*.log")))
        raise AssertionError(f"system did not start: {exc}\n{logs}") from exc
    return system


@pytest.fixture()
def system_factory(
    tmp_path: Path, service_urls: dict[str, Any], model_dir: Path,
) -> Iterator[Callable[..., LocalSystem]]:
    """Starts systems for one test and stops them when it ends."""
    started: list[LocalSystem] = []

    def start_system(split: bool = False, **overrides: str) -> LocalSystem:
        started.append(launch_system(tmp_path, service_urls, model_dir, split, **overrides))
        return started[-1]

    yield start_system
    for running in started:
        _dispose(running)


@pytest.fixture(scope="session")
def system(
    tmp_path_factory: pytest.TempPathFactory, service_urls: dict[str, Any], model_dir: Path,
) -> Iterator[LocalSystem]:
    """One combined-mode system shared by the end-to-end tests."""
    shared = launch_system(tmp_path_factory.mktemp("kv-system"), service_urls, model_dir)
    yield shared
    _dispose(shared)


S3_BUCKET = "kubevision-test"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A local S3-compatible server (moto), standing in for the outside service."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    s3_client(endpoint).create_bucket(Bucket=S3_BUCKET)
    yield endpoint
    server.stop()


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def s3_blob_settings(endpoint: str) -> BlobSettings:
    """Blob settings for the S3 back end on the test server, under a prefix of its own."""
    return BlobSettings(backend=BlobBackend.S3, s3_endpoint_url=endpoint, s3_bucket=S3_BUCKET,
                        s3_prefix=f"run-{secrets.token_hex(4)}/",
                        s3_access_key_id=SecretStr("test"),
                        s3_secret_access_key=SecretStr("test"))


@pytest.fixture()
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A Redis of this test's own, which the test may stop (never the shared one)."""
    server = RedisProcess(tmp_path)
    server.start()
    yield server
    server.stop()
