"""Admission control: past a limit of requests in flight in this process, new ones are refused at
once with 503 and Retry-After instead of queueing until clients time out. A 10x spike then costs
some fast refusals, not everyone's latency.

The default (8) is about four times what one process has in flight when its core is busy: at the
~1.5 ms of CPU a metadata request costs and ~3 ms it takes with its database round trips, a full
process holds about two. Past four times that, a new request would only wait behind the others;
the spike runs in BENCHMARKS.md measured admitted requests' p99 at 138-223 ms with the old limit
of 256 and 41-62 ms with 8. Exempt: probes, metrics, the edge's segment authorisation (playing
videos must not stall), and views (the fast path in api.domain.views.ingest answers them before
the router, as long as Redis is up)."""

from __future__ import annotations

import re

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from prometheus_client import Counter, Gauge

from api.errors import asgi_error

SHED = Counter("vidstore_requests_shed_total", "Requests refused with 503 by admission control")
IN_FLIGHT = Gauge("vidstore_requests_in_flight", "Requests being handled", multiprocess_mode="livesum")
_ALWAYS_ADMITTED = re.compile(r"/health/.*|/metrics|/internal/edge/.*|/v1/videos/[0-9]+/views/?")


class AdmissionControl(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    def __init__(self, max_in_flight: int) -> None:
        self.max_in_flight = max_in_flight
        self.in_flight = 0

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if self.in_flight >= self.max_in_flight and not _ALWAYS_ADMITTED.fullmatch(scope["path"]):
            SHED.inc()
            await asgi_error(503, "overloaded, retry shortly", 1)(scope, receive, send)
            return
        self.in_flight += 1
        IN_FLIGHT.inc()
        try:
            await next_app(scope, receive, send)
        finally:
            self.in_flight -= 1
            IN_FLIGHT.dec()
