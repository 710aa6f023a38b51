"""What every KubeVision HTTP service shares: start-up, error answers and health checks."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from kubevision import __version__
from kubevision.context import AppContext
from kubevision.errors import install_error_handlers
from kubevision.head import HeadAsGet
from kubevision.logs import configure_logging
from kubevision.settings import Settings, load_settings

logger = logging.getLogger(__name__)


def get_context(request: Request) -> AppContext:
    context = request.app.state.context
    assert isinstance(context, AppContext)
    return context


def create_service(
    title: str,
    routers: list[APIRouter],
    *,
    settings: Settings | None = None,
    check_broker: bool = False,
    on_start: Callable[[AppContext], None] | None = None,
) -> FastAPI:
    """A FastAPI app with the shared lifespan, error handlers, /healthz and /readyz."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resolved = settings or load_settings()
        configure_logging(resolved.log_level)
        context = AppContext.create(resolved)
        if on_start is not None:
            on_start(context)
        app.state.context = context
        logger.info("%s started (database %s, sink %s)", title,
                    context.engine.url.render_as_string(hide_password=True),
                    resolved.sink_url)
        yield
        context.close()

    app = FastAPI(title=title, version=__version__, lifespan=lifespan)
    install_error_handlers(app)
    app.add_middleware(HeadAsGet)
    for router in routers:
        app.include_router(router)

    @app.get("/healthz", tags=["health"], summary="Liveness: the process answers")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], summary="Readiness: every dependency answers",
             responses={503: {"description": "A dependency is down"}})
    def readyz(request: Request) -> Any:
        checks = get_context(request).check_ready(broker=check_broker)
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse({"status": "ready" if ready else "not_ready", "checks": checks},
                            status_code=200 if ready else 503)

    @app.get("/stats", tags=["health"], summary="This process's cache hits and misses")
    def stats(request: Request) -> dict[str, dict[str, int | float]]:
        return {"cache": get_context(request).cache.stats.snapshot()}

    return app
