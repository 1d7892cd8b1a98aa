"""The composition root: the one place that builds the process's resources (database engines,
Redis, object storage) and the services over them, each given exactly what it uses. The app
(`api.app`), the daemons (`api.cli`), the tests and the benchmarks build one `Services` and
close it; nothing below this module imports it, so dependencies point one way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import redis.asyncio as aioredis

from api.cdn import CdnEdges
from api.db import Database
from api.domain.channels.services import ChannelService
from api.domain.feeds.services import FeedService
from api.domain.jobs.outbox import Outbox
from api.domain.jobs.queue import JobQueue
from api.domain.playback.services import PlaybackService
from api.domain.processing.worker import Worker
from api.domain.uploads.services import UploadLimits, UploadService
from api.domain.users.services import UserService
from api.domain.videos.cache import VideoCache
from api.domain.videos.events import VideoEvents
from api.domain.videos.services import VideoService
from api.domain.views.buffer import ViewBuffer
from api.domain.views.flusher import Flusher
from api.domain.views.services import ViewService
from api.ratelimit import FixedWindow, RateLimiter
from api.settings import Settings
from api.storage import ObjectStore

__all__ = ["Services"]


def _redis(url: str) -> aioredis.Redis:
    # A bounded pool that makes a request wait for a free connection (up to 2 s) rather than
    # fail: redis-py's default pool raises MaxConnectionsError when a burst outnumbers it.
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=64,
        timeout=2,
        socket_timeout=2,
        socket_connect_timeout=2,
        health_check_interval=10,
    )
    return aioredis.Redis(connection_pool=pool)


@dataclass(slots=True)
class Services:
    settings: Settings
    # resources
    db: Database
    redis: aioredis.Redis
    store: ObjectStore
    jobs: JobQueue
    buffer: ViewBuffer  # views waiting in Redis for the flusher
    limiter: RateLimiter  # the per-client limit every route shares
    # services
    users: UserService
    channels: ChannelService
    videos: VideoService
    feeds: FeedService
    views: ViewService
    uploads: UploadService
    playback: PlaybackService
    outbox: Outbox

    @classmethod
    def create(cls, settings: Settings) -> Services:
        s, prefix = settings, settings.redis_prefix
        redis = _redis(s.redis_url)
        db = Database.connect(s.database_url, s.replica_database_url)
        store = ObjectStore(s.s3_endpoint, s.s3_access_key, s.s3_secret_key, s.s3_bucket, s.s3_region)
        jobs = JobQueue(redis, prefix, s.job_max_attempts, s.job_retry_base_seconds, s.job_lease_seconds)
        buffer = ViewBuffer(redis, prefix, s.view_dedupe_seconds)
        window = s.rate_limit_window_seconds
        limiter = RateLimiter(FixedWindow(redis, f"{prefix}:rl", window), s.rate_limit_requests, window)
        users = UserService(
            db, s.api_key_pepper, FixedWindow(redis, f"{prefix}:authfail", window), s.auth_failures_per_window
        )
        channels = ChannelService(db)
        outbox = Outbox(db, jobs)
        cache = VideoCache(redis, prefix, s.video_cache_ttl_seconds)
        videos = VideoService(db, cache, channels, outbox, VideoEvents(redis, prefix))
        limits = UploadLimits(s.max_upload_bytes, s.upload_part_bytes, s.upload_url_ttl_seconds)
        return cls(
            settings=s,
            db=db,
            redis=redis,
            store=store,
            jobs=jobs,
            buffer=buffer,
            limiter=limiter,
            users=users,
            channels=channels,
            videos=videos,
            feeds=FeedService(db, channels),
            views=ViewService(db, buffer, videos, limiter),
            uploads=UploadService(videos, store, redis, prefix, limits),
            playback=PlaybackService(
                videos,
                s.playback_keys,
                s.playback_ttl_seconds,
                s.cdn_base_url,
                CdnEdges(s.edge_urls, s.edge_secret),
            ),
            outbox=outbox,
        )

    def worker(self, name: str | None = None) -> Worker:
        return Worker(self.videos, self.playback, self.store, self.jobs, self.outbox, name)

    def flusher(self) -> Flusher:
        return Flusher(
            self.db.primary, self.buffer, self.settings.flush_lease_seconds, self.settings.shards or None
        )

    @classmethod
    @asynccontextmanager
    async def opened(cls, settings: Settings) -> AsyncIterator[Services]:
        """`create`, then `close` when done: for a command or a test that needs the services."""
        services = cls.create(settings)
        try:
            yield services
        finally:
            await services.close()

    async def close(self) -> None:
        await self.db.dispose()
        await self.redis.aclose()
