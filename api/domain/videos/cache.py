"""Hot video metadata in Redis, shared by every API process, with stampede protection: when a key
is missing, one loader per process (single flight) and one per cluster (a short Redis lock) reads
the database; the others wait for its result. Writes go through (the cache gets the row just
written), deletes leave a tombstone, so a replica's lag is never cached over a newer write.

Every entry carries its row's version (`updated_at`, in microseconds; a tombstone the highest
version, "no such row" the lowest) and one Lua script stores an entry only if the entry in Redis is
not newer: a slow refill that read the row before the owner's PATCH loses to the PATCH's write
instead of putting the old title back for the cache's TTL.

In front of Redis, each process keeps what it read for LOCAL_TTL_SECONDS: a hot video then costs
no round trip at all. Another process's write reaches it within that second (the writing process
sees its own write at once); owners always read the primary (see videos.services.find)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime

import msgspec
import redis.asyncio as aioredis
import redis.exceptions
from cachetools import TTLCache
from prometheus_client import Counter

from api.domain.videos.schemas import Video

# KEYS[1] the entry; ARGV: the new value (a fixed-width version, then the payload), its TTL.
_PUT_IF_NEWER = """
local old = redis.call('GET', KEYS[1])
if old and string.sub(old, 1, 20) > string.sub(ARGV[1], 1, 20) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""
_VERSION_DIGITS = 20
_ABSENT = b"0" * _VERSION_DIGITS  # loaded and not found (yet): any row written since wins
_DELETED = b"9" * _VERSION_DIGITS  # deleted: nothing read before the delete comes back

LOOKUPS = Counter("vidstore_video_cache_total", "Video metadata lookups by result", ["result"])
_LOCAL_HITS = LOOKUPS.labels(result="local")  # the hottest label, looked up once
MISSING = b"-"  # cached "no such video"
NEGATIVE_TTL_SECONDS = 5
LOCK_MS = 2000
WAIT_STEPS = 40  # a waiting process looks this many times (5 ms apart) for the loader's result
LOCAL_TTL_SECONDS = 1.0
LOCAL_MAX_ENTRIES = 50_000

Loader = Callable[[], Awaitable[Video | None]]


def _microseconds(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


class VideoCache:
    def __init__(self, client: aioredis.Redis, prefix: str, ttl_seconds: int) -> None:
        self.redis = client
        self.prefix = f"{prefix}:video:"
        self.ttl = ttl_seconds
        self._inflight: dict[int, asyncio.Future[Video | None]] = {}
        self._local: TTLCache[int, Video | None] = TTLCache(LOCAL_MAX_ENTRIES, LOCAL_TTL_SECONDS)
        self._put_if_newer = client.register_script(_PUT_IF_NEWER)

    def _remember(self, video_id: int, video: Video | None) -> None:
        self._local[video_id] = video

    def _decode(self, raw: bytes | str) -> Video | None:
        payload = raw[_VERSION_DIGITS:]
        return None if payload in (MISSING, MISSING.decode()) else msgspec.json.decode(payload, type=Video)

    async def get(self, video_id: int, load: Loader) -> Video | None:
        if self.ttl <= 0:
            return await load()
        try:
            local = self._local[video_id]  # None here is a cached "no such video"
        except KeyError:
            pass
        else:
            _LOCAL_HITS.inc()
            return local
        try:
            raw = await self.redis.get(self.prefix + str(video_id))
        except redis.exceptions.RedisError:  # no cache: the database still answers
            LOOKUPS.labels(result="error").inc()
            return await load()
        if raw is not None:
            LOOKUPS.labels(result="hit").inc()
            video = self._decode(raw)
            self._remember(video_id, video)
            return video
        pending = self._inflight.get(video_id)
        if pending is not None:  # this process is already loading it: wait for that
            LOOKUPS.labels(result="coalesced").inc()
            return await asyncio.shield(pending)
        LOOKUPS.labels(result="miss").inc()
        future: asyncio.Future[Video | None] = asyncio.get_running_loop().create_future()
        self._inflight[video_id] = future
        try:
            video = await self._load_once(video_id, load)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters (if any) get it, nobody else is warned
            raise
        else:
            future.set_result(video)
            return video
        finally:
            del self._inflight[video_id]

    async def _load_once(self, video_id: int, load: Loader) -> Video | None:
        key = self.prefix + str(video_id)
        if await self.redis.set(key + ":lock", b"1", nx=True, px=LOCK_MS):
            try:
                video = await load()
                await self.put(video_id, video)
                return video
            finally:
                await self.redis.delete(key + ":lock")
        for _ in range(WAIT_STEPS):  # another process is loading it
            await asyncio.sleep(0.005)
            raw = await self.redis.get(key)
            if raw is not None:
                return self._decode(raw)
        return await load()  # it is slow or gone: read it ourselves

    async def put(self, video_id: int, video: Video | None) -> None:
        """Cache a row as read or written (None: not found), unless Redis has a newer one."""
        if video is None:
            await self._store(video_id, None, _ABSENT + MISSING, NEGATIVE_TTL_SECONDS)
        else:
            version = b"%0*d" % (_VERSION_DIGITS, _microseconds(video.updated_at))
            await self._store(video_id, video, version + msgspec.json.encode(video), self.ttl)

    async def deleted(self, video_id: int) -> None:
        """A tombstone until the replicas have the delete too."""
        await self._store(video_id, None, _DELETED + MISSING, NEGATIVE_TTL_SECONDS)

    async def _store(self, video_id: int, video: Video | None, value: bytes, ttl: int) -> None:
        if self.ttl <= 0:
            return
        key = self.prefix + str(video_id)
        try:
            stored = await self._put_if_newer(keys=[key], args=[value, ttl])
        except redis.exceptions.RedisError:
            # Could not refresh it: drop it rather than leave an older copy (best effort).
            LOOKUPS.labels(result="error").inc()
            self._local.pop(video_id, None)
            with contextlib.suppress(redis.exceptions.RedisError):
                await self.redis.delete(key)
            return
        if stored:
            self._remember(video_id, video)
        else:  # a newer entry won: this process reads that one next time
            LOOKUPS.labels(result="stale_write_refused").inc()
            self._local.pop(video_id, None)

    async def invalidate(self, video_id: int) -> None:
        """Forget a video here and in Redis (the next read loads it again)."""
        self._local.pop(video_id, None)
        await self.redis.delete(self.prefix + str(video_id))
