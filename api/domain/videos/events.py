"""A video's events on Redis pub/sub: its status changes (processing, ready, failed) and the removal
of its blobs. Best effort: listeners re-read the video, whose state is in the database."""

from __future__ import annotations

import contextlib

import redis.asyncio as aioredis
import redis.exceptions

__all__ = ["VideoEvents"]


class VideoEvents:
    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self._redis, self._prefix = redis, prefix

    def channel(self, video_id: int) -> str:
        return f"{self._prefix}:events:video:{video_id}"

    async def announce(self, video_id: int, event: str) -> None:
        with contextlib.suppress(redis.exceptions.RedisError):
            await self._redis.publish(self.channel(video_id), event)
