from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotAuthorizedException
from litestar.params import JSONBody

from api.contract import OPTIONAL_KEY, answers
from api.deps import App, RequestCaller, Viewer
from api.domain.playback import services
from api.domain.playback.services import Playability, PlaybackGrant, PlaybackRequest
from api.params import VideoId


class PlaybackController(Controller):
    path = "/v1"
    tags = ["playback"]

    @post(
        "/videos/{video_id:int}/playback",
        status_code=200,
        summary="A signed, expiring playback URL",
        responses=answers(401, 403, 404, 409, body=True),
        security=OPTIONAL_KEY,
    )
    async def playback(
        self,
        app: App,
        caller: RequestCaller,
        viewer: Viewer,
        video_id: VideoId,
        data: JSONBody[PlaybackRequest | None] = None,
    ) -> PlaybackGrant:
        bind_ip = data.bind_ip if data else False
        client_ip = caller.ip if bind_ip and caller.ip != "unknown" else None
        return await services.grant(app, video_id, viewer, client_ip)


class EdgeController(Controller):
    """The edge's interface (not public, not in the OpenAPI document): it verifies tokens itself and
    only asks, per video and cached for seconds, whether the video may still be played."""

    path = "/internal/edge"
    include_in_schema = False

    @get("/videos/{video_id:int}/playability", opt={"no_rate_limit": True})
    async def playability(self, app: App, request: Request[Any, Any, Any], video_id: VideoId) -> Playability:
        if not services.edge_authenticated(app, request.headers.get("x-edge-secret")):
            raise NotAuthorizedException(detail="the edge's secret is required (X-Edge-Secret)")
        return await services.playability(app, video_id)
