from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.params import JSONBody, Parameter

from api.contract import OPTIONAL_KEY, answers
from api.deps import App, Viewer
from api.domain.playback import services
from api.domain.playback.services import PlaybackGrant, PlaybackRequest
from api.params import VideoId


class PlaybackVerified(msgspec.Struct):
    valid: bool
    video_id: int
    expires_at: int
    file: str


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
        request: Request[Any, Any, Any],
        viewer: Viewer,
        video_id: VideoId,
        data: JSONBody[PlaybackRequest | None] = None,
    ) -> PlaybackGrant:
        bind_ip = data.bind_ip if data else False
        client_ip = request.client.host if (bind_ip and request.client) else None
        return await services.grant(app, video_id, viewer, client_ip)

    @get(
        "/playback/verify",
        summary="For the edge: is this request path signed for this client address?",
        opt={"no_rate_limit": True},
        responses=answers(403),
    )
    async def verify(
        self,
        app: App,
        path: Annotated[str, Parameter(min_length=1, max_length=2048, description="request path")],
        client_ip: Annotated[str, Parameter(min_length=1, max_length=64, description="client address")],
    ) -> Response[PlaybackVerified]:
        verdict = services.verify(app, path, client_ip)
        if not verdict.valid:
            raise PermissionDeniedException(detail=verdict.reason)
        assert verdict.video_id is not None and verdict.expires is not None and verdict.file is not None
        body = PlaybackVerified(
            valid=True, video_id=verdict.video_id, expires_at=verdict.expires, file=verdict.file
        )
        # Where the edge fetches the file: a short-lived presigned GET, so the bucket stays private.
        upstream = app.store.presign_get(f"videos/{verdict.video_id}/{verdict.file}", ttl=60)
        return Response(body, headers={"X-Upstream-Url": upstream})
