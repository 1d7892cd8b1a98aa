"""Error responses: every failure is JSON `{status_code, detail[, extra]}`; dependencies down -> 503."""

from __future__ import annotations

import logging
from typing import Any

import redis.exceptions
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response.base import ASGIResponse
from litestar.serialization import encode_json
from litestar.types import ExceptionHandlersMap
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from api.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from api.ratelimit import refusal_headers, retry_after

log = logging.getLogger("vidstore.errors")

RETRY_AFTER_SECONDS = "2"


# Each domain failure's status: the one place the domain meets HTTP.
STATUS: dict[type[DomainError], int] = {
    InvalidInput: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    RateLimited: 429,
}


def asgi_error(
    status: int, detail: str, seconds: float, headers: dict[str, str] | None = None
) -> ASGIResponse:
    """A JSON error answered straight from a middleware (no handler ran), with Retry-After."""
    return ASGIResponse(
        body=encode_json({"status_code": status, "detail": detail}),
        status_code=status,
        media_type="application/json",
        headers={**(headers or {}), "Retry-After": retry_after(seconds)},
    )


def _json(status: int, detail: str, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        {"status_code": status, "detail": detail},
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


def unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A dependency (database or Redis) failed: tell the client to retry instead of a bare 500."""
    log.warning("dependency unavailable on %s %s: %r", request.method, request.url.path, exc)
    what = "redis" if isinstance(exc, redis.exceptions.RedisError) else "database"
    return _json(503, f"{what} unavailable, retry later", {"Retry-After": RETRY_AFTER_SECONDS})


def database_error(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Any]:
    if isinstance(exc, OperationalError) or exc.connection_invalidated:
        return unavailable(request, exc)
    log.exception("database error on %s %s", request.method, request.url.path, exc_info=exc)
    return _json(500, "internal error")


def _named(exc: HTTPException) -> str:
    """Litestar's own validation errors say "Validation failed for GET /path"; the detail names the
    field(s) instead, as ours do."""
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
        named = [f"{e['key']}: {e['message']}" for e in exc.extra if isinstance(e, dict) and e.get("key")]
        if named and exc.detail.startswith("Validation failed"):
            return "; ".join(named)
    return exc.detail


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    body: dict[str, Any] = {"status_code": exc.status_code, "detail": _named(exc)}
    if exc.extra:
        body["extra"] = exc.extra
    return Response(body, status_code=exc.status_code, media_type=MediaType.JSON, headers=exc.headers)


def domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    status = next(code for kind, code in STATUS.items() if isinstance(exc, kind))
    body: dict[str, Any] = {"status_code": status, "detail": exc.detail}
    headers: dict[str, str] = {}
    if isinstance(exc, InvalidInput):  # the shape of Litestar's own validation errors
        body["extra"] = [{"key": exc.field, "message": exc.message, "source": exc.source}]
    elif isinstance(exc, RateLimited):
        headers = refusal_headers(exc.limit, exc.reset)
    return Response(body, status_code=status, media_type=MediaType.JSON, headers=headers)


exception_handlers: ExceptionHandlersMap = {
    DomainError: domain_error,
    HTTPException: http_error,
    DBAPIError: database_error,
    PoolTimeoutError: unavailable,
    redis.exceptions.ConnectionError: unavailable,
    redis.exceptions.TimeoutError: unavailable,
}


def error_response(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """What the handlers above answer for `exc`, for a path served outside Litestar's router."""
    for kind in type(exc).__mro__:
        handler = exception_handlers.get(kind)
        if handler is not None:
            return handler(request, exc)
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return _json(500, "internal error")
