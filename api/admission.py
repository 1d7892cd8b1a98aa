"""Admission control: past a limit of requests in flight in this process, new ones are refused at
once with 503 and Retry-After instead of queueing until clients time out. A 10x spike then costs
some fast refusals, not everyone's latency.

The default (8) is about four times what one process has in flight when its core is busy: at the
~1.5 ms of CPU a metadata request costs and ~3 ms it takes with its database round trips, a full
process holds about two. Past four times that, a new request would only wait behind the others;
the spike runs in BENCHMARKS.md measured admitted requests' p99 at 138-223 ms with the old limit
of 256 and 41-62 ms with 8. Exempt, by declaring `opt={ALWAYS_ADMITTED: True}`: probes, metrics
and view POSTs (a view is one Redis call: refusing it saves little and loses a view). Playback
never reaches the API (the edge verifies tokens itself).

`VIDSTORE_ADMISSION=adaptive` replaces the fixed limit with `GradientLimit`, which finds it from the
latencies it sees (the limit a machine can afford depends on its cores and its neighbours)."""

from __future__ import annotations

import time

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from prometheus_client import Counter, Gauge

from api.errors import asgi_error

SHED = Counter("vidstore_requests_shed_total", "Requests refused with 503 by admission control")
IN_FLIGHT = Gauge("vidstore_requests_in_flight", "Requests being handled", multiprocess_mode="livesum")
# A route declares itself exempt with `opt={ALWAYS_ADMITTED: True}` (on it or its controller).
ALWAYS_ADMITTED = "always_admitted"


LIMIT = Gauge("vidstore_admission_limit", "Requests admitted in flight per process", multiprocess_mode="max")


class GradientLimit:
    """A concurrency limit that follows latency, after Netflix's concurrency-limits (Gradient2):
    every `window` requests, the mean latency of that window (short) is compared with a slow
    moving average of all of them (long, over ~`long_window` requests). A short mean above the long
    one means requests are queueing: the limit is scaled by long/short (at most halved per window);
    otherwise it may grow by a small queue allowance (sqrt of the limit). Averages, not minima, so a
    mix of fast and slow routes does not look like queueing. Admitted requests then wait behind at
    most what the process clears at its usual latency, whatever the machine or its neighbours."""

    def __init__(
        self,
        initial: float = 8,
        minimum: float = 2,
        maximum: float = 64,
        tolerance: float = 1.5,
        window: int = 20,
        long_window: int = 600,
        smoothing: float = 0.5,
    ) -> None:
        self.limit = initial
        self.minimum, self.maximum = minimum, maximum
        self.tolerance, self.window, self.smoothing = tolerance, window, smoothing
        self.alpha = 2 / (long_window + 1)
        self.long: float | None = None
        self._sum, self._n = 0.0, 0

    def observe(self, seconds: float) -> None:
        self.long = seconds if self.long is None else self.long + self.alpha * (seconds - self.long)
        self._sum += seconds
        self._n += 1
        if self._n < self.window:
            return
        short, self._sum, self._n = self._sum / self._n, 0.0, 0
        if self.long > 2 * short:  # the long average remembers a slow past: let it catch up
            self.long = (self.long + short) / 2
        gradient = max(0.5, min(1.0, self.tolerance * self.long / short))
        target = self.limit * gradient + self.limit**0.5
        self.limit = min(
            self.maximum, max(self.minimum, (1 - self.smoothing) * self.limit + self.smoothing * target)
        )


class AdmissionControl(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    def __init__(self, max_in_flight: int, adaptive: bool = False) -> None:
        self.max_in_flight = max_in_flight
        self.adaptive = GradientLimit(initial=min(max_in_flight, 64)) if adaptive else None
        self.in_flight = 0
        LIMIT.set(max_in_flight)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        exempt = bool(scope["route_handler"].opt.get(ALWAYS_ADMITTED))
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
