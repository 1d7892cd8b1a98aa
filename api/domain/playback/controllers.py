from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotAuthorizedException
from litestar.params import JSONBody

from api.admission import ALWAYS_ADMITTED
from api.contract import OPTIONAL_KEY, answers
from api.deps import Playback, RequestCaller, Viewer, provide_playback
from api.domain.playback.services import Playability, PlaybackGrant, PlaybackRequest
from api.params import VideoId


class PlaybackController(Controller):
    path = "/v1"
    tags = ["playback"]
    dependencies = {"playback": provide_playback}

    @post(
        "/videos/{video_id:int}/playback",
        status_code=200,
        summary="A signed, expiring playback URL",
        responses=answers(401, 403, 404, 409, body=True),
        security=OPTIONAL_KEY,
    )
    async def playback(
        self,
        playback: Playback,
        caller: RequestCaller,
        viewer: Viewer,
        video_id: VideoId,
        data: JSONBody[PlaybackRequest | None] = None,
    ) -> PlaybackGrant:
        bind_ip = data.bind_ip if data else False
        client_ip = caller.ip if bind_ip and caller.ip != "unknown" else None
        return await playback.grant(video_id, viewer, client_ip)


class EdgeController(Controller):
    """The edge's interface (not public, not in the OpenAPI document): it verifies tokens itself and
    only asks, per video and cached for seconds, whether the video may still be played."""

    path = "/internal/edge"
    include_in_schema = False
    dependencies = {"playback": provide_playback}

    @get(
        "/videos/{video_id:int}/playability",
        opt={"no_rate_limit": True, ALWAYS_ADMITTED: True},  # playing videos must not stall
    )
    async def playability(
        self, playback: Playback, request: Request[Any, Any, Any], video_id: VideoId
    ) -> Playability:
        if not playback.edge_authenticated(request.headers.get("x-edge-secret")):
            raise NotAuthorizedException(detail="the edge's secret is required (X-Edge-Secret)")
        return await playback.playability(video_id)
