"""The HTTP metrics every route gets, under the names and labels of Litestar's Prometheus plugin:
`vidstore_http_requests_total`, `_request_duration_seconds`, `_requests_in_progress` and
`_requests_error_total`, labelled method, path (the route's template), status_code, app_name.

The plugin's middleware built a `Request` and looked each series up by its labels again on every
request: 15% of a view POST's cost (BENCHMARKS.md). Here each label set's series are found once and
kept. A route opts out with `opt={NO_HTTP_METRICS: True}` (probes and the scrape itself)."""

from __future__ import annotations

import time
from typing import Any

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter, Gauge, Histogram

__all__ = ["NO_HTTP_METRICS", "HttpMetrics"]

NO_HTTP_METRICS = "no_http_metrics"

_LABELS = ("method", "path", "status_code", "app_name")
REQUESTS = Counter("vidstore_http_requests_total", "Total requests", _LABELS)
ERRORS = Counter("vidstore_http_requests_error_total", "Total errors in requests", _LABELS)
DURATION = Histogram("vidstore_http_request_duration_seconds", "Request duration, in seconds", _LABELS)
IN_PROGRESS = Gauge(
    "vidstore_http_requests_in_progress",
    "Total requests currently in progress",
    _LABELS,
    multiprocess_mode="livesum",
)


class HttpMetrics(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)
    exclude_opt_key = NO_HTTP_METRICS

    def __init__(self, app_name: str) -> None:
        self.app_name = app_name
        self._done: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}
        self._running: dict[tuple[str, str], Any] = {}

    def _finished(self, method: str, path: str, status: int) -> tuple[Any, Any, Any]:
        found = self._done.get((method, path, status))
        if found is None:
            values = (method, path, str(status), self.app_name)
            errors = ERRORS.labels(*values) if status >= 500 else None
            found = self._done[(method, path, status)] = (
                REQUESTS.labels(*values),
                DURATION.labels(*values),
                errors,
            )
        return found

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        method, path = str(scope.get("method")), scope["path_template"]  # an HTTP scope (`scopes`)
        running = self._running.get((method, path))
        if running is None:  # in progress: labelled status 200, as the plugin did
            running = self._running[(method, path)] = IN_PROGRESS.labels(method, path, "200", self.app_name)
        started = time.perf_counter()
        status, ended = 200, 0.0

        async def timed_send(message: Message) -> None:
            nonlocal status, ended
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                ended = time.perf_counter()
            await send(message)

        running.inc()
        try:
            await next_app(scope, receive, timed_send)
        finally:
            running.dec()
            count, duration, errors = self._finished(method, path, status)
            count.inc()
            duration.observe((ended or time.perf_counter()) - started)
            if errors is not None:
                errors.inc()
