"""The view buffer in Redis. Recording a view is one atomic script (no database on the request path).

Keys (P = prefix):
  P:views:live           hash  "<channel_id>:<video_id>" -> views not yet claimed by a flusher
  P:views:live_total     int   sum of the live hash (for the buffered-views gauge)
  P:views:batch:<id>     hash  a claimed batch, same fields; exists until every shard committed it
  P:views:batches        zset  pending batch id -> claim time (ms)
  P:views:batch_totals   hash  batch id -> views in it
  P:views:lease:<id>     str   which flusher works on a batch, expiring so a dead one's work is retried
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import cast

import redis.asyncio as aioredis

_RECORD = """
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
return redis.call('INCR', KEYS[2])
"""

# Live counters become a pending batch in one step: RENAME is atomic, and new views start a new hash.
_CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[5])
local total = redis.call('GET', KEYS[2]) or '0'
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[4], ARGV[1], total)
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('SET', KEYS[6], ARGV[3], 'PX', ARGV[4])
return 1
"""

_DROP = """
redis.call('DEL', KEYS[1], KEYS[4])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class Delta:
    channel_id: int
    video_id: int
    views: int


@dataclass(frozen=True, slots=True)
class Buffered:
    live: int
    pending: dict[str, int]  # batch id -> views of this video in that batch


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def field(channel_id: int, video_id: int) -> str:
    return f"{channel_id}:{video_id}"


class ViewBuffer:
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.redis = client
        p = f"{prefix}:views"
        self.live, self.live_total = f"{p}:live", f"{p}:live_total"
        self.batches, self.batch_totals = f"{p}:batches", f"{p}:batch_totals"
        self._batch, self._lease = f"{p}:batch:", f"{p}:lease:"
        self._record = client.register_script(_RECORD)
        self._claim = client.register_script(_CLAIM)
        self._drop = client.register_script(_DROP)
        self._release = client.register_script(_RELEASE)

    def batch_key(self, batch_id: str) -> str:
        return self._batch + batch_id

    def lease_key(self, batch_id: str) -> str:
        return self._lease + batch_id

    async def record(self, channel_id: int, video_id: int) -> None:
        await self._record(keys=[self.live, self.live_total], args=[field(channel_id, video_id)])

    async def claim(self, owner: str, lease_seconds: int) -> str | None:
        """Move the live counters into a new pending batch, leased to `owner`; None when empty.
        Batch ids are UUIDs, never reused even if Redis loses its data."""
        batch_id = uuid.uuid4().hex
        claimed = await self._claim(
            keys=[
                self.live,
                self.live_total,
                self.batches,
                self.batch_totals,
                self.batch_key(batch_id),
                self.lease_key(batch_id),
            ],
            args=[batch_id, int(time.time() * 1000), owner, lease_seconds * 1000],
        )
        return batch_id if claimed else None

    async def pending(self) -> list[tuple[str, float]]:
        """Pending batches, oldest first, with their claim time (epoch seconds)."""
        rows = cast(
            "list[tuple[bytes, float]]", await self.redis.zrange(self.batches, 0, -1, withscores=True)
        )
        return [(_text(member), float(score) / 1000) for member, score in rows]

    async def lease(self, batch_id: str, owner: str, lease_seconds: int) -> bool:
        return bool(await self.redis.set(self.lease_key(batch_id), owner, nx=True, px=lease_seconds * 1000))

    async def release(self, batch_id: str, owner: str) -> None:
        await self._release(keys=[self.lease_key(batch_id)], args=[owner])

    async def deltas(self, batch_id: str) -> list[Delta]:
        raw = await self.redis.hgetall(self.batch_key(batch_id))
        out = []
        for key, value in raw.items():
            channel_id, _, video_id = _text(key).partition(":")
            out.append(Delta(int(channel_id), int(video_id), int(value)))
        return out

    async def drop(self, batch_id: str) -> None:
        """Forget a batch every shard has committed."""
        await self._drop(
            keys=[self.batch_key(batch_id), self.batches, self.batch_totals, self.lease_key(batch_id)],
            args=[batch_id],
        )

    async def buffered(self, channel_id: int, video_id: int) -> Buffered:
        """One video's views still in Redis: live, and per pending batch (a consistent snapshot)."""
        name = field(channel_id, video_id)
        batch_ids = [b for b, _ in await self.pending()]
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hget(self.live, name)
            for batch_id in batch_ids:
                pipe.hget(self.batch_key(batch_id), name)
            values = await pipe.execute()
        pending = {b: int(v) for b, v in zip(batch_ids, values[1:], strict=True) if v is not None}
        return Buffered(live=int(values[0] or 0), pending=pending)

    async def totals(self) -> tuple[int, int, float | None]:
        """(views buffered in all, pending batches, claim time of the oldest pending batch)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(self.live_total)
            pipe.hvals(self.batch_totals)
            pipe.zrange(self.batches, 0, 0, withscores=True)
            live, batch_totals, oldest = await pipe.execute()
        views = int(live or 0) + sum(int(v) for v in batch_totals)
        return views, len(batch_totals), (oldest[0][1] / 1000 if oldest else None)
