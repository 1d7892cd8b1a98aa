from __future__ import annotations

from litestar import Controller, delete, get, patch, post
from litestar.params import JSONBody

from api.contract import KEY, OPTIONAL_KEY, answers
from api.deps import CurrentUser, Videos, Viewer, provide_videos
from api.domain.videos.schemas import VideoCreate, VideoOut, VideoUpdate
from api.pagination import Page
from api.params import ChannelId, Cursor, PageLimit, VideoId


class VideoController(Controller):
    path = "/v1"
    tags = ["videos"]
    dependencies = {"videos": provide_videos}

    @post(
        "/channels/{channel_id:int}/videos",
        summary="Create a draft video (channel owner only)",
        responses=answers(401, 403, 404, body=True),
        security=KEY,
    )
    async def create_video(
        self, videos: Videos, user: CurrentUser, channel_id: ChannelId, data: JSONBody[VideoCreate]
    ) -> VideoOut:
        return VideoOut.of(await videos.create(user, channel_id, data))

    @get(
        "/channels/{channel_id:int}/videos",
        summary="A channel's videos, newest first",
        responses=answers(401, 404),
        security=OPTIONAL_KEY,
    )
    async def list_channel_videos(
        self,
        videos: Videos,
        viewer: Viewer,
        channel_id: ChannelId,
        cursor: Cursor = None,
        limit: PageLimit = 20,
    ) -> Page[VideoOut]:
        page = await videos.list_channel(channel_id, viewer, cursor, limit)
        return Page(items=[VideoOut.of(v) for v in page.items], next_cursor=page.next_cursor)

    @get("/videos/{video_id:int}", summary="Get a video", responses=answers(401, 404), security=OPTIONAL_KEY)
    async def get_video(self, videos: Videos, viewer: Viewer, video_id: VideoId) -> VideoOut:
        return VideoOut.of(await videos.get_visible(video_id, viewer))

    @patch(
        "/videos/{video_id:int}",
        summary="Update a video's metadata (owner only)",
        responses=answers(401, 403, 404, body=True),
        security=KEY,
    )
    async def update_video(
        self, videos: Videos, user: CurrentUser, video_id: VideoId, data: JSONBody[VideoUpdate]
    ) -> VideoOut:
        return VideoOut.of(await videos.update(user, video_id, data))

    @delete(
        "/videos/{video_id:int}",
        summary="Delete a video (owner only)",
        responses=answers(401, 403, 404),
        security=KEY,
    )
    async def delete_video(self, videos: Videos, user: CurrentUser, video_id: VideoId) -> None:
        await videos.delete(user, video_id)
