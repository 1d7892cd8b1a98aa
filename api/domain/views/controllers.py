from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post

from api.deps import App, Viewer
from api.domain.views import services
from api.domain.views.schemas import ViewAccepted, ViewCount
from api.params import VideoId


class ViewController(Controller):
    path = "/v1/videos/{video_id:int}/views"
    tags = ["views"]

    @post("/", status_code=202, summary="Record a view (buffered in Redis, flushed in batches)")
    async def record_view(
        self, app: App, viewer: Viewer, video_id: VideoId, request: Request[Any, Any, Any]
    ) -> ViewAccepted:
        client_ip = request.client.host if request.client else "unknown"
        user_agent = request.headers.get("user-agent", "")
        return await services.record(app, video_id, viewer, client_ip, user_agent)

    @get("/", summary="A video's view count: flushed + still buffered")
    async def view_count(self, app: App, viewer: Viewer, video_id: VideoId) -> ViewCount:
        return await services.count(app, video_id, viewer)
