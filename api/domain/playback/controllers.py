from __future__ import annotations

from litestar import Controller, post
from litestar.params import JSONBody

from api.contract import OPTIONAL_KEY, answers
from api.deps import Playback, RequestCaller, Viewer, provide_playback
from api.domain.playback.services import PlaybackGrant, PlaybackRequest
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
