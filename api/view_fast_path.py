"""The view fast path: `POST /v1/videos/{id}/views` answered before Litestar's router.

A view is by far the most frequent request (every play sends one). With its Redis work batched
(api.batching), what is left of its cost is Litestar's per-request machinery: through the router
(parameter parsing, dependency injection, three middleware layers, response building) a view cost
3.3x the CPU it costs here (BENCHMARKS.md measures both ways). So the app answers it first, with
the same steps any route gets: the per-client rate limit and its headers, the id check, the API
key, the service's visibility checks, and error bodies from the app's own exception handlers. Its
requests are counted in `vidstore_view_requests_total` and timed in
`vidstore_view_request_duration_seconds` (the HTTP middleware does not see them).
`VIDSTORE_VIEW_FAST_PATH=0` leaves the route to the Litestar handler, which runs `accept` too."""

from __future__ import annotations

import re
import time
from typing import Any

import msgspec
from litestar import Request
from litestar.types import HTTPResponseBodyEvent, HTTPResponseStartEvent, Receive, Scope, Send
from prometheus_client import Counter, Histogram

from api.caller import Caller
from api.deps import viewer_of
from api.domain.views import services
from api.domain.views.buffer import Recorded
from api.domain.views.schemas import ViewAccepted
from api.errors import error_response
from api.params import path_id
from api.ratelimit import Limit, LimitReached
from api.ratelimit_middleware import check
from api.state import AppState

REQUESTS = Counter("vidstore_view_requests_total", "View POSTs by response status", ["status"])
LATENCY = Histogram("vidstore_view_request_duration_seconds", "View POSTs answered on the fast path")
_ACCEPTED = REQUESTS.labels("202")
_PATH = re.compile(r"/v1/videos/(-?[0-9]{1,30})/views/?")


def match(path: str) -> int | None:
    """The video id of a view POST's path, or None for any other path."""
    found = _PATH.fullmatch(path)
    return int(found.group(1)) if found else None


async def accept(
    state: AppState, video_id: int, caller: Caller, limit: Limit | None = None
) -> tuple[ViewAccepted, Recorded | None]:
    """Record one view: the checks and the service call both ways of serving the route share."""
    path_id(video_id, "video_id")
    viewer = await viewer_of(state, caller)
    return await services.record(state, video_id, viewer, caller.ip, caller.user_agent, limit)


async def serve(state: AppState, video_id: int, scope: Scope, receive: Receive, send: Send) -> None:
    started = time.perf_counter()
    try:
        await _serve(state, video_id, scope, receive, send)
    finally:
        LATENCY.observe(time.perf_counter() - started)


async def _serve(state: AppState, video_id: int, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer a view POST. The caller's rate-limit hit is counted with the view, in one Redis
    call; a request refused before that point (bad id, key or video) is counted on its own."""
    caller = Caller.of(scope)
    try:
        accepted, recorded = await accept(
            state, video_id, caller, state.limiter.limit_for(caller.limit_identity)
        )
    except Exception as exc:
        await _refuse(state, exc, scope, receive, send)
        return
    # The common case, sent as plain ASGI messages (a Response object costs more than a view).
    body = msgspec.json.encode(accepted)
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    if recorded is not None:
        limit_headers = state.limiter.headers(recorded.hits, recorded.reset)
        raw_headers += [(name.encode(), value.encode()) for name, value in limit_headers.items()]
    _ACCEPTED.inc()
    start: HTTPResponseStartEvent = {"type": "http.response.start", "status": 202, "headers": raw_headers}
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(start)
    await send(end)


async def _refuse(state: AppState, exc: Exception, scope: Scope, receive: Receive, send: Send) -> None:
    limit_headers: dict[str, str] = {}
    if not isinstance(exc, LimitReached):  # the view's script did not run: count the hit now
        checked = await check(state.limiter, scope)
        limit_headers = checked.headers
        if checked.refusal is not None:
            REQUESTS.labels("429").inc()
            await checked.refusal(scope, receive, send)
            return
    request: Request[Any, Any, Any] = Request(scope, receive, send)
    response = error_response(request, exc).to_asgi_response(None, request, headers=limit_headers)
    REQUESTS.labels(str(response.status_code)).inc()
    await response(scope, receive, send)
