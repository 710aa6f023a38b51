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
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image
from skimage import data as skdata
from sqlalchemy import create_engine, text

from kubevision.context import AppContext
from kubevision.db.migrate import upgrade_database
from kubevision.local import LocalSystem, plan, start
from kubevision.settings import Settings
from tests.support import free_port, free_port_block, purge_queue

BACKEND = os.environ.get("KV_TEST_BACKEND", "embedded")
POSTGRES_URL = os.environ.get("KV_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("KV_TEST_REDIS_URL", "redis://127.0.0.1:6379")
AMQP_URL = os.environ.get("KV_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


def pytest_report_header() -> str:
    return f"kubevision test backend: {BACKEND}"


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """The built model store; `scripts/install` builds it (KV_MODEL_DIR may point elsewhere)."""
    configured = os.environ.get("KV_MODEL_DIR")
    path = Path(configured) if configured else Path(".kubevision/models")
    return path.resolve()


@pytest.fixture(scope="session")
def service_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
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
    purge_queue(urls["broker_url"])
    yield urls

    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kv-data")


def make_settings(data_dir: Path, service_urls: dict[str, str], model_dir: Path,
                  **overrides: object) -> Settings:
    values: dict[str, object] = {"data_dir": data_dir, "model_dir": model_dir, **service_urls}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def settings(session_dir: Path, service_urls: dict[str, str], model_dir: Path) -> Settings:
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


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def chelsea_png() -> bytes:
    """A tabby cat, public domain, from scikit-image's data."""
    return encode(Image.fromarray(skdata.chelsea()), "PNG")


@pytest.fixture(scope="session")
def coffee_png() -> bytes:
    """A cup of espresso, public domain, from scikit-image's data."""
    return encode(Image.fromarray(skdata.coffee()), "PNG")


@pytest.fixture()
def unique_jpeg() -> bytes:
    """A real photo made unique by one random pixel, so it is never a duplicate upload."""
    image = Image.fromarray(skdata.astronaut())
    image.putpixel((0, 0), tuple(secrets.token_bytes(3)))
    return encode(image, "JPEG", quality=95)


@pytest.fixture()
def port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def system_factory(
    tmp_path_factory: pytest.TempPathFactory, service_urls: dict[str, str], model_dir: Path,
) -> Iterator[Callable[..., LocalSystem]]:
    """Starts whole local systems (functions, bridge, worker as processes) and stops them."""
    started: list[LocalSystem] = []

    def start_system(split: bool = False, **overrides: str) -> LocalSystem:
        data_dir = tmp_path_factory.mktemp("kv-system")
        system_settings = make_settings(data_dir, service_urls, model_dir)
        system_plan = plan("127.0.0.1", free_port_block(6), split, free_port())
        extra_env = {f"KV_{key.upper()}": value for key, value in overrides.items()}
        system = start(system_settings, system_plan, log_dir=data_dir / "logs",
                       extra_env=extra_env)
        started.append(system)
        try:
            system.wait_ready(timeout_s=120)
        except (TimeoutError, RuntimeError) as exc:
            logs = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}"
                             for p in sorted((data_dir / "logs").glob("*.log")))
            raise AssertionError(f"system did not start: {exc}\n{logs}") from exc
        return system

    yield start_system
    for system in started:
        system.stop()


@pytest.fixture(scope="session")
def system(system_factory: Callable[..., LocalSystem]) -> LocalSystem:
    """One combined-mode system shared by the end-to-end tests."""
    return system_factory()
