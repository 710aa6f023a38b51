"""The web UI: static HTML, CSS and ES modules from ``ui/``, served at ``/`` and ``/ui/``.

The status function serves it so that the pages and the API they read share one origin:
no CORS, and the same host works locally (`kubevision up`) and in the cluster. Nothing is
built or fetched at run time; the files are committed as they are served.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from kubevision.errors import ApiError

router = APIRouter(include_in_schema=False)

UI_DIR = Path(__file__).parent / "ui"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*\.(css|js|svg)$")
_TYPES = {"css": "text/css", "js": "text/javascript", "svg": "image/svg+xml"}
# Everything comes from this origin; images may also be local blob: previews.
_POLICY = ("default-src 'self'; img-src 'self' blob: data:; style-src 'self'; "
           "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
           "frame-ancestors 'none'")
# Files change with each release; revalidate instead of keeping a stale UI.
_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


@router.get("/")
def read_index() -> FileResponse:
    return FileResponse(UI_DIR / "index.html", media_type="text/html",
                        headers={**_HEADERS, "Content-Security-Policy": _POLICY})


@router.get("/ui/{name}")
def read_ui_file(name: str) -> FileResponse:
    path = UI_DIR / name
    if not _NAME.fullmatch(name) or not path.is_file():
        raise ApiError(404, "not_found", f"The UI has no file {name!r}.", {"name": name})
    return FileResponse(path, media_type=_TYPES[name.rsplit(".", 1)[1]], headers=_HEADERS)
