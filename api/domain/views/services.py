from __future__ import annotations

import hashlib

import redis.exceptions

from api.db import Database
from api.domain.errors import Conflict
from api.domain.users.schemas import User
from api.domain.videos.services import VideoService
from api.domain.views import repositories as repo
from api.domain.views.buffer import Recorded, ViewBuffer
from api.domain.views.schemas import ViewAccepted, ViewCount
from api.ratelimit import Limit, RateLimiter

__all__ = ["ViewService", "viewer_identity"]


def viewer_identity(viewer: User | None, client_ip: str, user_agent: str) -> str:
    """Who is watching, for the dedupe window and unique-viewer counts: the user, or for anonymous
    callers a digest of address and user agent (no raw address is stored)."""
    if viewer is not None:
        return f"u{viewer.user_id}"
    return "a" + hashlib.sha256(f"{client_ip}|{user_agent}".encode()).hexdigest()[:24]


class ViewService:
    """Views: recorded in the Redis buffer (`ViewBuffer`, flushed by the flusher) and counted."""

    def __init__(self, db: Database, buffer: ViewBuffer, videos: VideoService, limiter: RateLimiter) -> None:
        self.db, self.buffer, self.videos, self.limiter = db, buffer, videos, limiter

    async def record(
        self,
        video_id: int,
        viewer: User | None,
        client_ip: str,
        user_agent: str,
        limit: Limit | None = None,
    ) -> tuple[ViewAccepted, Recorded | None]:
        """Count a view of a ready, visible video. With `limit`, the caller's rate-limit hit is
        counted in the same Redis call (one round trip per view); past the limit the view is refused."""
        video = await self.videos.get_visible(video_id, viewer)
        if video.status != "ready":
            raise Conflict(f"video {video_id} is {video.status}, not ready")
        identity = viewer_identity(viewer, client_ip, user_agent)
        if limit is None:
            counted = await self.buffer.record(video.channel_id, video.video_id, identity)
            return ViewAccepted(video_id=video_id, counted=counted), None
        recorded = await self.buffer.record_within(video.channel_id, video.video_id, identity, limit)
        self.limiter.learn(limit.key, recorded.hits, recorded.reset)
        if recorded.result < 0:
            raise self.limiter.refusal(recorded.reset)
        return ViewAccepted(video_id=video_id, counted=recorded.result == 1), recorded

    async def count(self, video_id: int, viewer: User | None) -> ViewCount:
        video = await self.videos.get_visible(video_id, viewer)
        return await self.count_views(video.channel_id, video.video_id)

    async def count_views(self, channel_id: int, video_id: int) -> ViewCount:
        """Flushed count plus what Redis still holds. A pending batch that this video's shard already
        committed (its flush_log row exists) is in `flushed`, so it is not added twice."""
        try:
            buffered = await self.buffer.buffered(channel_id, video_id)
            unique = await self.buffer.unique_viewers_today(video_id)
        except redis.exceptions.RedisError:
            # Redis down: the database still answers; say the count leaves out what Redis holds.
            async with self.db.primary.connect() as conn:
                flushed = await repo.get_views(conn, channel_id, video_id)
            return ViewCount(video_id=video_id, views=flushed, flushed=flushed, buffered=None, complete=False)
        async with self.db.primary.connect() as conn:
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
