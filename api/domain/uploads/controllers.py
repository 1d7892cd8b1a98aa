from __future__ import annotations

from litestar import Controller, post
from litestar.params import JSONBody

from api.contract import KEY, answers
from api.deps import CurrentUser, Uploads, provide_uploads
from api.domain.uploads.schemas import UploadComplete, UploadGrant, UploadRequest
from api.domain.videos.schemas import VideoOut
from api.params import VideoId


class UploadController(Controller):
    path = "/v1/videos/{video_id:int}/upload"
    tags = ["uploads"]
    dependencies = {"uploads": provide_uploads}

    @post(
        "/",
        status_code=201,
        summary="Presigned URLs to upload a draft video's file (owner only)",
        responses=answers(401, 403, 404, 409, body=True),
        security=KEY,
    )
    async def start_upload(
        self, uploads: Uploads, user: CurrentUser, video_id: VideoId, data: JSONBody[UploadRequest]
    ) -> UploadGrant:
        return await uploads.start(user, video_id, data)

    @post(
        "/complete",
        status_code=202,
        summary="The upload is done: check it and start processing",
        responses=answers(401, 403, 404, 409, body=True),
        security=KEY,
    )
    async def complete_upload(
        self, uploads: Uploads, user: CurrentUser, video_id: VideoId, data: JSONBody[UploadComplete]
    ) -> VideoOut:
        return VideoOut.of(await uploads.complete(user, video_id, data))
