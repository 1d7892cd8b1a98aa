"""What the app holds for its lifetime: settings, database engines, Redis and the limiters."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis
from cachetools import TTLCache

from api.db import Database
from api.domain.processing.queue import JobQueue
from api.domain.users.schemas import User
from api.domain.videos.cache import VideoCache
from api.domain.views.buffer import ViewBuffer
from api.ratelimit import FixedWindow, RateLimiter
from api.settings import Settings
from api.storage import ObjectStore


@dataclass(slots=True)
class AppState:
    settings: Settings
    db: Database
    redis: aioredis.Redis
    limiter: RateLimiter
    auth_failures: FixedWindow
    views: ViewBuffer
    store: ObjectStore
    jobs: JobQueue
    videos: VideoCache
    verified_keys: TTLCache[tuple[int, bytes], User]  # see users.services.authenticate

    @classmethod
    def create(cls, settings: Settings) -> AppState:
        # A bounded pool that makes a request wait for a free connection (up to 2 s) rather than
        # fail: redis-py's default pool raises MaxConnectionsError when a burst outnumbers it.
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.redis_url,
            max_connections=64,
            timeout=2,
            socket_timeout=2,
            socket_connect_timeout=2,
            health_check_interval=10,
        )
        client = aioredis.Redis(connection_pool=pool)
        prefix = settings.redis_prefix
        return cls(
            settings=settings,
            db=Database.connect(settings.database_url, settings.replica_database_url),
            redis=client,
            limiter=RateLimiter(
                FixedWindow(client, f"{prefix}:rl", settings.rate_limit_window_seconds),
                settings.rate_limit_requests,
                settings.rate_limit_window_seconds,
            ),
            auth_failures=FixedWindow(client, f"{prefix}:authfail", settings.rate_limit_window_seconds),
            views=ViewBuffer(client, prefix, settings.view_dedupe_seconds),
            store=ObjectStore(
                settings.s3_endpoint,
                settings.s3_access_key,
                settings.s3_secret_key,
                settings.s3_bucket,
                settings.s3_region,
            ),
            jobs=JobQueue(
                client,
                prefix,
                settings.job_max_attempts,
                settings.job_retry_base_seconds,
                settings.job_lease_seconds,
            ),
            videos=VideoCache(client, prefix, settings.video_cache_ttl_seconds),
            verified_keys=TTLCache(maxsize=100_000, ttl=60),
        )

    def events_channel(self, video_id: int) -> str:
        """Pub/sub channel announcing a video's status changes (processing, ready, failed)."""
        return f"{self.settings.redis_prefix}:events:video:{video_id}"

    async def close(self) -> None:
        await self.db.dispose()
        await self.redis.aclose()
