from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import Parameter

from api import view_fast_path
from api.contract import OPTIONAL_KEY, answers
from api.deps import App, RequestCaller, Viewer
from api.domain.views import services
from api.domain.views.schemas import ViewAccepted, ViewCount
from api.params import ID_BOUNDS, VideoId

# Checked by view_fast_path.accept, so both ways of serving a view POST answer a bad id the same way.
UncheckedId = Annotated[int, Parameter(description="video id", schema_extra=ID_BOUNDS)]


class ViewController(Controller):
    path = "/v1/videos/{video_id:int}/views"
    tags = ["views"]

    @post(
        "/",
        status_code=202,
        summary="Record a view (buffered in Redis, flushed in batches)",
        responses=answers(401, 404, 409),
        security=OPTIONAL_KEY,
    )
    async def record_view(self, app: App, caller: RequestCaller, video_id: UncheckedId) -> ViewAccepted:
        # Served by api.view_fast_path before the router unless VIDSTORE_VIEW_FAST_PATH=0;
        # both run view_fast_path.accept, which checks video_id (1 to 2^63-1).
        accepted, _ = await view_fast_path.accept(app, video_id, caller)
        return accepted  # the rate limit was counted by the middleware

    @get(
        "/",
        summary="A video's view count: flushed + still buffered",
        responses=answers(401, 404),
        security=OPTIONAL_KEY,
    )
    async def view_count(self, app: App, viewer: Viewer, video_id: VideoId) -> ViewCount:
        return await services.count(app, video_id, viewer)
