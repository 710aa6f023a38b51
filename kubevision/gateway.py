"""All three functions in one app on one port, with the same paths as in the cluster.

This is what `kubevision up` serves locally; in a cluster each function is its own service.
"""

from __future__ import annotations

from fastapi import FastAPI

from functions.process.app import router as process_router
from functions.status.app import router as status_router
from functions.upload.app import router as upload_router
from kubevision.service import create_service
from kubevision.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service("KubeVision", [upload_router, process_router, status_router],
                          settings=settings)


app = create_app()
