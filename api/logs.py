"""Structured logs: one JSON object a line, carrying the id of the request (or job) being served.

A request's id is its `X-Request-ID` when that is well-formed, or a new one; it is returned in the
response's `X-Request-ID`, stamped on every log line written while serving it, and stored in the
jobs it enqueues, so the worker's lines about that job carry it too."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any

# ASGI's shapes, spelled plainly: logging sits below the web framework (the worker logs too).
Send = Callable[[Any], Awaitable[None]]

REQUEST_ID: ContextVar[str | None] = ContextVar("vidstore_request_id", default=None)
_WELL_FORMED = re.compile(rb"[A-Za-z0-9._:-]{1,128}")  # anything else is replaced, never logged
_FIELDS = ("method", "path", "status", "duration_ms", "job", "video_id", "attempt")


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{record.msecs:03.0f}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        entry |= {key: getattr(record, key) for key in _FIELDS if hasattr(record, key)}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(service: str, level: int = logging.INFO) -> None:
    """JSON lines on stderr for this process (`service`: api, flusher, worker, ...), unless logging
    is set up already (as logging.basicConfig: a test runner's capture stays in place)."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(service))
    root.addHandler(handler)
    root.setLevel(level)


def bind(scope: Mapping[str, Any], send: Send) -> Send:
    """Give this HTTP request its id (for its logs and jobs) and return the id to the client."""
    given = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"")
    raw = given if _WELL_FORMED.fullmatch(given) else uuid.uuid4().hex.encode()
    REQUEST_ID.set(raw.decode())

    async def send_with_id(message: Any) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), (b"x-request-id", raw)]
        await send(message)

    return send_with_id


def request_ids(app: Any) -> Any:
    """The app's outermost middleware: every HTTP request gets its id (see `bind`)."""

    async def with_request_id(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            send = bind(scope, send)
        await app(scope, receive, send)

    return with_request_id
