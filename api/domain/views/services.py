from __future__ import annotations

from litestar.exceptions import ClientException

from api.domain.users.schemas import User
from api.domain.videos import services as videos
from api.domain.views import repositories as repo
from api.domain.views.schemas import ViewAccepted, ViewCount
from api.state import AppState


async def record(state: AppState, video_id: int, viewer: User | None) -> ViewAccepted:
    video = await videos.get_visible(state, video_id, viewer)
    if video.status != "ready":
        raise ClientException(status_code=409, detail=f"video {video_id} is {video.status}, not ready")
    await state.views.record(video.channel_id, video.video_id)
    return ViewAccepted(video_id=video_id)


async def count(state: AppState, video_id: int, viewer: User | None) -> ViewCount:
    """Flushed count plus what Redis still holds. A pending batch that this video's shard already
    committed (its flush_log row exists) is in `flushed`, so it is not added twice."""
    video = await videos.get_visible(state, video_id, viewer)
    buffered = await state.views.buffered(video.channel_id, video.video_id)
    async with state.db.primary.connect() as conn:
        flushed = await repo.get_views(conn, video.channel_id, video.video_id)
        committed = await repo.applied_batches(conn, video.channel_id, list(buffered.pending))
    in_redis = buffered.live + sum(n for b, n in buffered.pending.items() if b not in committed)
    return ViewCount(video_id=video_id, views=flushed + in_redis, flushed=flushed, buffered=in_redis)
