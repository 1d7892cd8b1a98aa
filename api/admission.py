"""Admission control: past a limit of requests in flight in this process, new ones are refused at
once with 503 and Retry-After instead of queueing until clients time out. A 10x spike then costs
some fast refusals, not everyone's latency.

The default (8) is about four times what one process has in flight when its core is busy: at the
~1.5 ms of CPU a metadata request costs and ~3 ms it takes with its database round trips, a full
process holds about two. Past four times that, a new request would only wait behind the others;
the spike runs in BENCHMARKS.md measured admitted requests' p99 at 138-223 ms with the old limit
of 256 and 41-62 ms with 8. Exempt: probes, metrics, the edge's segment authorisation (playing
videos must not stall), and views (the fast path in api.domain.views.ingest answers them before
the router, as long as Redis is up).

`VIDSTORE_ADMISSION=adaptive` replaces the fixed limit with `AimdLimit`, which finds it from the
latencies it sees (the limit a machine can afford depends on its cores and its neighbours)."""

from __future__ import annotations

import re
import time

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from prometheus_client import Counter, Gauge

from api.errors import asgi_error

SHED = Counter("vidstore_requests_shed_total", "Requests refused with 503 by admission control")
IN_FLIGHT = Gauge("vidstore_requests_in_flight", "Requests being handled", multiprocess_mode="livesum")
_ALWAYS_ADMITTED = re.compile(r"/health/.*|/metrics|/v1/playback/verify|/v1/videos/[0-9]+/views/?")


LIMIT = Gauge("vidstore_admission_limit", "Requests admitted in flight per process", multiprocess_mode="max")


class AimdLimit:
    """A concurrency limit that follows latency (additive increase, multiplicative decrease, as TCP
    congestion control and Netflix's concurrency-limits do): a request slower than `tolerance` x
    the fastest of the recent ones (the latency with no queue) means requests are queueing, and the
    limit shrinks by `backoff`, at most once per `limit` requests; otherwise it grows by 1/limit (one
    per full window). Admitted requests then wait behind at most as many as the process clears
    within that latency, whatever the machine."""

    def __init__(
        self,
        initial: float = 8,
        minimum: float = 2,
        maximum: float = 64,
        tolerance: float = 2.0,
        backoff: float = 0.8,
        window: int = 500,
    ) -> None:
        self.limit = initial
        self.minimum, self.maximum = minimum, maximum
        self.tolerance, self.backoff = tolerance, backoff
        self.window = window
        self._fastest = float("inf")  # of the current window
        self._previous_fastest = float("inf")  # of the last whole window
        self._seen = 0
        self._since_decrease = 0

    def no_load(self) -> float:
        return min(self._fastest, self._previous_fastest)

    def observe(self, seconds: float) -> None:
        self._seen += 1
        self._since_decrease += 1
        self._fastest = min(self._fastest, seconds)
        if self._seen >= self.window:  # forget old minima slowly: the machine's speed changes
            self._previous_fastest, self._fastest, self._seen = self._fastest, float("inf"), 0
        if seconds > self.tolerance * self.no_load():
            if self._since_decrease >= self.limit:
                self.limit = max(self.minimum, self.limit * self.backoff)
                self._since_decrease = 0
        else:
            self.limit = min(self.maximum, self.limit + 1 / self.limit)


class AdmissionControl(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    def __init__(self, max_in_flight: int, adaptive: bool = False) -> None:
        self.max_in_flight = max_in_flight
        self.adaptive = AimdLimit(initial=min(max_in_flight, 64)) if adaptive else None
        self.in_flight = 0
        LIMIT.set(max_in_flight)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        exempt = _ALWAYS_ADMITTED.fullmatch(scope["path"]) is not None
        limit = self.max_in_flight if self.adaptive is None else int(self.adaptive.limit)
        if self.in_flight >= limit and not exempt:
            SHED.inc()
            await asgi_error(503, "overloaded, retry shortly", 1)(scope, receive, send)
            return
        self.in_flight += 1
        IN_FLIGHT.inc()
        started = time.perf_counter()
        try:
            await next_app(scope, receive, send)
        finally:
            self.in_flight -= 1
            IN_FLIGHT.dec()
            if self.adaptive is not None and not exempt:
                self.adaptive.observe(time.perf_counter() - started)
                LIMIT.set(self.adaptive.limit)
