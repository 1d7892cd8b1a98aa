"""Views: `POST /v1/videos/{id}/views`, the busiest request (every play sends one), and the count.

The view POST is an ordinary route: the app's middleware (request id, metrics with its latency
histogram, admission control) and exception handlers serve it as any other. It declares one
opt-out, `opt={"no_rate_limit": True}`: the rate-limit middleware does not count its hit, because
the view's own Redis script counts it with the view (one round trip per view, not two). A view
refused before the script ran (bad key, unknown video, not ready) has its hit counted here, as the
middleware would have, so every request counts once whatever way it ends."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from prometheus_client import Counter

from api.admission import ALWAYS_ADMITTED
from api.caller import Caller
from api.contract import OPTIONAL_KEY, answers
from api.deps import Users, Viewer, Views, provide_views, viewer_of
from api.domain.users.services import UserService
from api.domain.views.schemas import ViewAccepted, ViewCount
from api.domain.views.services import ViewService
from api.errors import error_response
from api.params import ID_BOUNDS, VideoId, path_id
from api.ratelimit import LimitReached
from api.ratelimit_middleware import check

# The view-ingest SLI (ops/prometheus): every view POST by outcome, 503s (Redis down) included.
OUTCOMES = Counter("vidstore_view_requests_total", "View POSTs by response status", ["status"])

# Checked in the handler (path_id), so that a refused id has its rate-limit hit counted too.
UncheckedId = Annotated[int, Parameter(description="video id", schema_extra=ID_BOUNDS)]


async def _record(
    request: Request[Any, Any, Any], views: ViewService, users: UserService, video_id: int
) -> Response[Any]:
    caller = Caller.of(request.scope)
    limiter = views.limiter
    try:
        path_id(video_id, "video_id")
        viewer = await viewer_of(users, caller)
        accepted, recorded = await views.record(
            video_id, viewer, caller.ip, caller.user_agent, limiter.limit_for(caller.limit_identity)
        )
    except LimitReached as exc:  # the script counted the hit and refused: its 429
        return error_response(request, exc)
    except Exception as exc:  # refused before the script: count the hit now
        checked = await check(limiter, request.scope)
        if checked.refusal is not None:  # past the window: its 429
            return error_response(request, limiter.refusal(checked.reset))
        refused = error_response(request, exc)
        refused.headers.update(checked.headers)
        return refused
    assert recorded is not None  # a limit was given: the script reports the window
    return Response(accepted, status_code=202, headers=limiter.headers(recorded.hits, recorded.reset))


class ViewController(Controller):
    path = "/v1/videos/{video_id:int}/views"
    tags = ["views"]
    dependencies = {"views": provide_views}

    @post(
        "/",
        status_code=202,
        summary="Record a view (buffered in Redis, flushed in batches)",
        responses=answers(401, 404, 409),
        security=OPTIONAL_KEY,
        # The hit is counted by the view's script (see above); a view is one Redis call, admitted always.
        opt={"no_rate_limit": True, ALWAYS_ADMITTED: True},
    )
    async def record_view(
        self, request: Request[Any, Any, Any], views: Views, users: Users, video_id: UncheckedId
    ) -> Response[ViewAccepted]:
        response = await _record(request, views, users, video_id)
        OUTCOMES.labels(str(response.status_code)).inc()
        return response

    @get(
        "/",
        summary="A video's view count: flushed + still buffered",
        responses=answers(401, 404),
        security=OPTIONAL_KEY,
    )
    async def view_count(self, views: Views, viewer: Viewer, video_id: VideoId) -> ViewCount:
        return await views.count(video_id, viewer)
