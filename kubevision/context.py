"""The resources one process holds, created once at start-up and closed at shutdown."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import redis
from celery import Celery
from sqlalchemy import Engine

from kubevision.blobs import BlobStore, LocalBlobStore
from kubevision.cache import ImageCache
from kubevision.db.engine import check_database, create_db_engine
from kubevision.events import EventSender
from kubevision.queue import create_celery
from kubevision.settings import Settings

logger = logging.getLogger(__name__)


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    blobs: BlobStore
    cache: ImageCache
    events: EventSender
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, settings: Settings) -> AppContext:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(
            settings=settings,
            engine=create_db_engine(settings.resolved_database_url),
            blobs=LocalBlobStore(settings.resolved_blob_dir),
            cache=ImageCache.from_url(settings.redis_url, settings.cache_ttl_s),
            events=EventSender(settings.sink_url, settings.sink_timeout_s),
        )

    @cached_property
    def celery(self) -> Celery:
        return create_celery(self.settings)

    def check_ready(self, *, broker: bool = False) -> dict[str, str]:
        """Check each dependency; the answer maps its name to "ok" or the error."""
        checks: dict[str, str] = {}
        checks["database"] = _outcome(lambda: check_database(self.engine))
        checks["blob_store"] = _outcome(self.blobs.check)
        if self.cache.client is not None:
            client = self.cache.client
            checks["redis"] = _outcome(lambda: _ping(client))
        if broker:
            checks["broker"] = _outcome(self._check_broker)
        return checks

    def _check_broker(self) -> None:
        with self.celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)

    def close(self) -> None:
        self.events.close()
        self.engine.dispose()


def _ping(client: redis.Redis) -> None:
    client.ping()


def _outcome(check: Any) -> str:
    try:
        check()
    except Exception as exc:  # noqa: BLE001 - any failure makes the service not ready
        return f"error: {exc}"
    return "ok"
