"""Errors that reach a client: a stable machine-readable code, an HTTP status and a sentence.

Every service installs :func:`install_error_handlers`, so all of them answer with the same
JSON shape, documented in OpenAPI by :data:`ERROR_RESPONSES`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match, Route

logger = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = {}


class ErrorResponse(BaseModel):
    """The body of every error answer."""

    error: ErrorBody


class ApiError(Exception):
    """An error with its HTTP status, stable code and human sentence."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers

    def to_response(self) -> JSONResponse:
        body = ErrorResponse(error=ErrorBody(code=self.code, message=self.message,
                                             details=self.details))
        return JSONResponse(body.model_dump(), status_code=self.status, headers=self.headers)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the given error statuses."""
    return {
        status: {"model": ErrorResponse, "description": HTTPStatus(status).phrase}
        for status in statuses
    }


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return exc.to_response()


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [_problem(err) for err in exc.errors()]
    summary = "; ".join(f"{p['location']}: {p['problem']}" for p in problems)
    return ApiError(
        422, "invalid_request", f"The request is not valid: {summary}.", {"problems": problems},
    ).to_response()


def _problem(err: dict[str, Any]) -> dict[str, str]:
    if err.get("type") == "json_invalid":
        # Pydantic says "body.9: JSON decode error"; say what and where in words.
        position = err["loc"][1] if len(err["loc"]) > 1 else "?"
        reason = (err.get("ctx") or {}).get("error", "invalid JSON")
        return {"location": "body",
                "problem": f"the body is not valid JSON ({reason} at character {position})"}
    return {"location": ".".join(str(part) for part in err["loc"]), "problem": err["msg"]}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_")
    response = ApiError(exc.status_code, code, str(exc.detail)).to_response()
    response.headers.update(exc.headers or {})
    if exc.status_code == 405:
        named = {method.strip() for method in response.headers.get("allow", "").split(",")}
        response.headers["allow"] = ", ".join(_methods_at(request, named - {""}))
    return response


def _methods_at(request: Request, named: set[str]) -> list[str]:
    """Every method some route of this path takes, beside those the router named (it names
    only the first matching route's); HEAD goes with every GET."""
    methods = set(named)
    for route in _plain_routes(request.app.router.routes):
        match, _ = route.matches(request.scope)
        if match is not Match.NONE and route.methods:
            methods |= route.methods
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def _plain_routes(routes: Iterable[BaseRoute]) -> Iterator[Route]:
    for route in routes:
        if isinstance(route, Route):
            yield route
        # FastAPI keeps an included router's routes behind a wrapper.
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _plain_routes(inner.routes)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return ApiError(500, "internal_error", "The server failed; the error is logged.").to_response()


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
