"""All three functions in one app on one port, with the same paths as in the cluster.

This is what `kubevision up` serves locally; in a cluster each function is its own service.
"""

from __future__ import annotations

from functions.process.app import router as process_router
from functions.status.app import router as status_router
from functions.upload.app import router as upload_router
from kubevision.service import create_service

app = create_service("KubeVision", [upload_router, process_router, status_router])
