"""The view buffer in Redis. Recording views is one atomic script per batch of concurrent requests
(no database on the request path).

Keys (P = prefix):
  P:views:live           hash  "<channel_id>:<video_id>" -> views not yet claimed by a flusher
  P:views:live_total     int   sum of the live hash (for the buffered-views gauge)
  P:views:live_since     int   when the oldest live view arrived (ms), for the flush-lag gauge
  P:views:batch:<id>     hash  a claimed batch, same fields; exists until every shard committed it
  P:views:batches        zset  pending batch id -> claim time (ms)
  P:views:batch_totals   hash  batch id -> views in it
  P:views:batch_since    hash  batch id -> when its oldest view arrived (ms)
  P:views:lease:<id>     str   which flusher works on a batch, expiring so a dead one's work is retried
  P:views:seen:<video>:<viewer>  a viewer's recent view of a video (expires after the dedupe window)
  P:views:uv:<video>:<day>       HyperLogLog of the video's viewers that UTC day
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import cast

import redis.asyncio as aioredis

from api import metrics
from api.batching import Coalescer
from api.ratelimit import WINDOW_HIT_LUA, Limit, ttl_seconds

# Many views in one call (see api.batching). Per view: its caller's rate-limit hit when it has a
# limit (past it, the view is refused: -1), its day's HyperLogLog, then the dedupe window (a
# viewer's repeat within it is not counted: 0), then the counter (1). Returns (result, hits, ms
# until the window resets) per view.
# KEYS: live, live_total, live_since, then (seen, uv, rate-limit window) per view;
# ARGV: dedupe seconds, HyperLogLog expiry, now (ms), then (field, viewer, limit, window ms) per
# view (limit 0: no limit; its window key is then not touched).
_RECORD = (
    WINDOW_HIT_LUA
    + """
local dedupe, counted, out = tonumber(ARGV[1]), 0, {}
for i = 1, (#KEYS - 3) / 3 do
  local k, a = 1 + 3 * i, 4 * i
  local seen, uv, window = KEYS[k], KEYS[k + 1], KEYS[k + 2]
  local name, viewer, limit = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  local hits, ttl = 0, 0
  if limit > 0 then hits, ttl = window_hit(window, ARGV[a + 3]) end
  if limit > 0 and hits > limit then
    out[i] = {-1, hits, ttl}
  else
    redis.call('PFADD', uv, viewer)
    redis.call('EXPIRE', uv, ARGV[2])
    if dedupe > 0 and not redis.call('SET', seen, '1', 'NX', 'EX', dedupe) then
      out[i] = {0, hits, ttl}
    else
      redis.call('HINCRBY', KEYS[1], name, 1)
      counted = counted + 1
      out[i] = {1, hits, ttl}
    end
  end
end
if counted > 0 then
  redis.call('INCRBY', KEYS[2], counted)
  redis.call('SET', KEYS[3], ARGV[3], 'NX')
end
return out
"""
)

# Live counters become a pending batch in one step: RENAME is atomic, and new views start a new hash.
_CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[5])
local total = redis.call('GET', KEYS[2]) or '0'
local since = redis.call('GET', KEYS[7]) or ARGV[2]
redis.call('DEL', KEYS[2], KEYS[7])
redis.call('HSET', KEYS[4], ARGV[1], total)
redis.call('HSET', KEYS[8], ARGV[1], since)
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('SET', KEYS[6], ARGV[3], 'PX', ARGV[4])
return 1
"""

_DROP = """
redis.call('DEL', KEYS[1], KEYS[4])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[5], ARGV[1])
return 1
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class View:
    channel_id: int
    video_id: int
    viewer: str
    limit: Limit | None = None  # the caller's rate limit, counted with the view


@dataclass(frozen=True, slots=True)
class Recorded:
    result: int  # 1 counted, 0 a repeat within the dedupe window, -1 refused by the rate limit
    hits: int  # the caller's hits in the rate-limit window (0 without a limit)
    reset: float  # seconds until that window resets


_NO_LIMIT = Limit("", 0, 0)


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
    def __init__(self, client: aioredis.Redis, prefix: str, dedupe_seconds: int = 0) -> None:
        self.redis = client
        self.dedupe_seconds = dedupe_seconds
        p = f"{prefix}:views"
        self.live, self.live_total, self.live_since = f"{p}:live", f"{p}:live_total", f"{p}:live_since"
        self.batches, self.batch_totals = f"{p}:batches", f"{p}:batch_totals"
        self.batch_since = f"{p}:batch_since"
        self._batch, self._lease = f"{p}:batch:", f"{p}:lease:"
        self._seen, self._uv = f"{p}:seen:", f"{p}:uv:"
        self._record = client.register_script(_RECORD)
        self._views = Coalescer(self._record_many)
        self._claim = client.register_script(_CLAIM)
        self._drop = client.register_script(_DROP)
        self._release = client.register_script(_RELEASE)

    def batch_key(self, batch_id: str) -> str:
        return self._batch + batch_id

    def lease_key(self, batch_id: str) -> str:
        return self._lease + batch_id

    def unique_key(self, video_id: int, day: str) -> str:
        return f"{self._uv}{video_id}:{day}"

    async def record(self, channel_id: int, video_id: int, viewer: str) -> bool:
        """Count one view unless this viewer's last one of this video is within the dedupe window;
        True when counted. `viewer` is an opaque identity (a user id, or a digest of an address)."""
        return (await self._views.submit(View(channel_id, video_id, viewer))).result == 1

    async def record_within(self, channel_id: int, video_id: int, viewer: str, limit: Limit) -> Recorded:
        """`record`, counting the caller's rate-limit hit in the same call (refused past it)."""
        return await self._views.submit(View(channel_id, video_id, viewer, limit))

    async def _record_many(self, views: list[View]) -> list[Recorded]:
        now = time.time()
        day = time.strftime("%Y%m%d", time.gmtime(now))
        keys = [self.live, self.live_total, self.live_since]
        args: list[str | int] = [self.dedupe_seconds, 2 * 86_400, int(now * 1000)]
        for view in views:
            seen = f"{self._seen}{view.video_id}:{view.viewer}"
            limit = view.limit or _NO_LIMIT
            keys += [seen, self.unique_key(view.video_id, day), limit.key or seen]
            args += [field(view.channel_id, view.video_id), view.viewer, limit.max_hits, limit.window_ms]
        rows = await self._record(keys=keys, args=args)
        return [Recorded(int(result), int(hits), ttl_seconds(ttl)) for result, hits, ttl in rows]

    async def unique_viewers_today(self, video_id: int) -> int:
        day = time.strftime("%Y%m%d", time.gmtime())
        return int(await self.redis.pfcount(self.unique_key(video_id, day)))

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
                self.live_since,
                self.batch_since,
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
            keys=[
                self.batch_key(batch_id),
                self.batches,
                self.batch_totals,
                self.lease_key(batch_id),
                self.batch_since,
            ],
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
        """(views buffered in all, pending batches, arrival time of the oldest unflushed view)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(self.live_total)
            pipe.hvals(self.batch_totals)
            pipe.get(self.live_since)
            pipe.hvals(self.batch_since)
            live, batch_totals, live_since, batch_since = await pipe.execute()
        views = int(live or 0) + sum(int(v) for v in batch_totals)
        arrivals = [int(v) for v in batch_since] + ([int(live_since)] if live_since else [])
        return views, len(batch_totals), (min(arrivals) / 1000 if arrivals else None)

    async def refresh_gauges(self) -> None:
        """The buffer gauges, read from Redis (by the flusher each pass, by the API at each scrape)."""
        views, batches, oldest = await self.totals()
        metrics.BUFFERED_VIEWS.set(views)
        metrics.PENDING_BATCHES.set(batches)
        metrics.FLUSH_LAG.set(max(0.0, time.time() - oldest) if oldest else 0)
