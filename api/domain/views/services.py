from __future__ import annotations

import hashlib

import redis.exceptions

from api.domain.errors import Conflict
from api.domain.users.schemas import User
from api.domain.videos import services as videos
from api.domain.views import repositories as repo
from api.domain.views.buffer import Recorded
from api.domain.views.schemas import ViewAccepted, ViewCount
from api.ratelimit import Limit
from api.state import AppState


def viewer_identity(viewer: User | None, client_ip: str, user_agent: str) -> str:
    """Who is watching, for the dedupe window and unique-viewer counts: the user, or for anonymous
    callers a digest of address and user agent (no raw address is stored)."""
    if viewer is not None:
        return f"u{viewer.user_id}"
    return "a" + hashlib.sha256(f"{client_ip}|{user_agent}".encode()).hexdigest()[:24]


async def record(
    state: AppState,
    video_id: int,
    viewer: User | None,
    client_ip: str,
    user_agent: str,
    limit: Limit | None = None,
) -> tuple[ViewAccepted, Recorded | None]:
    """Count a view of a ready, visible video. With `limit`, the caller's rate-limit hit is counted
    in the same Redis call (one round trip per view); past the limit the view is refused."""
    video = await videos.get_visible(state, video_id, viewer)
    if video.status != "ready":
        raise Conflict(f"video {video_id} is {video.status}, not ready")
    identity = viewer_identity(viewer, client_ip, user_agent)
    if limit is None:
        counted = await state.views.record(video.channel_id, video.video_id, identity)
        return ViewAccepted(video_id=video_id, counted=counted), None
    recorded = await state.views.record_within(video.channel_id, video.video_id, identity, limit)
    if recorded.result < 0:
        raise state.limiter.refusal(recorded.reset)
    return ViewAccepted(video_id=video_id, counted=recorded.result == 1), recorded


async def count(state: AppState, video_id: int, viewer: User | None) -> ViewCount:
    video = await videos.get_visible(state, video_id, viewer)
    return await count_views(state, video.channel_id, video.video_id)


async def count_views(state: AppState, channel_id: int, video_id: int) -> ViewCount:
    """Flushed count plus what Redis still holds. A pending batch that this video's shard already
    committed (its flush_log row exists) is in `flushed`, so it is not added twice."""
    try:
        buffered = await state.views.buffered(channel_id, video_id)
        unique = await state.views.unique_viewers_today(video_id)
    except redis.exceptions.RedisError:
        # Redis down: the database still answers; say that the count leaves out what Redis holds.
        async with state.db.primary.connect() as conn:
            flushed = await repo.get_views(conn, channel_id, video_id)
        return ViewCount(video_id=video_id, views=flushed, flushed=flushed, buffered=None, complete=False)
    async with state.db.primary.connect() as conn:
        flushed = await repo.get_views(conn, channel_id, video_id)
        committed = await repo.applied_batches(conn, channel_id, list(buffered.pending))
    in_redis = buffered.live + sum(n for b, n in buffered.pending.items() if b not in committed)
    return ViewCount(
        video_id=video_id,
        views=flushed + in_redis,
        flushed=flushed,
        buffered=in_redis,
        unique_viewers_today=unique,
    )
