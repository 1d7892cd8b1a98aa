"""Per-API-key (or per-client-IP) rate limiting, shared by every worker process through Redis.

Litestar's RateLimitMiddleware keeps its lock per process and does get-then-set on the store, so
several workers race past the limit, and it sends no Retry-After. This is a fixed-window counter
made atomic by one Lua script: INCR, set the window's expiry on the first hit, return the TTL.
Counting only: the HTTP side (the middleware, the headers it adds) is api.ratelimit_middleware.

A request far below its caller's limit does not wait for Redis (see `RateLimiter.hit`): its hit
goes in the next batch and the answer corrects what the process knows. Under load, waiting was a
whole batch round trip on every request (BENCHMARKS.md, "the rate limiter stops waiting").
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from dataclasses import dataclass

import redis.asyncio as aioredis
from cachetools import TTLCache

from api.batching import Coalescer
from api.domain.errors import RateLimited
from api.security import bearer_token

# A window's hit in Lua, shared with the view script (api.domain.views.buffer), which counts a
# view and its caller's hit in one call.
WINDOW_HIT_LUA = """
local function window_hit(key, window_ms)
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('PEXPIRE', key, window_ms) end
  return n, redis.call('PTTL', key)
end
"""

# One call counts the hits of many requests (see api.batching); a key may come several times.
_WINDOW_SCRIPT = (
    WINDOW_HIT_LUA
    + """
local out = {}
for i, key in ipairs(KEYS) do
  out[2 * i - 1], out[2 * i] = window_hit(key, ARGV[1])
end
return out
"""
)


@dataclass(frozen=True, slots=True)
class Limit:
    """One caller's window, for a script that counts the hit itself."""

    key: str
    max_hits: int
    window_ms: int


class FixedWindow:
    """An atomic counter per identity and window; `hit` says how many hits the window has seen."""

    def __init__(self, client: aioredis.Redis, prefix: str, window_seconds: int) -> None:
        self._script = client.register_script(_WINDOW_SCRIPT)
        self._prefix = prefix
        self.window_ms = window_seconds * 1000
        self._hits = Coalescer(self._hit_many)

    def key(self, identity: str) -> str:
        return f"{self._prefix}:{identity}"

    async def hit(self, identity: str) -> tuple[int, float]:
        """Count one hit; return (hits in this window, seconds until the window resets)."""
        return await self.hit_key(self.key(identity))

    async def hit_key(self, key: str) -> tuple[int, float]:
        return await self._hits.submit(key)

    def enqueue(self, key: str) -> asyncio.Future[tuple[int, float]]:
        """Count one hit in the next batch without waiting for it; the future has `hit_key`'s answer."""
        return self._hits.enqueue(key)

    async def _hit_many(self, keys: list[str]) -> list[tuple[int, float]]:
        flat = await self._script(keys=keys, args=[self.window_ms])
        return [(int(n), ttl_seconds(ttl)) for n, ttl in zip(flat[::2], flat[1::2], strict=True)]

    async def count(self, identity: str) -> int:
        value = await self._script.registered_client.get(self.key(identity))
        return int(value or 0)


def identity(authorization: str | None, client_ip: str) -> str:
    """The API key's digest when a bearer key is sent, else the client's IP address."""
    token = bearer_token(authorization)
    if token:
        return "key:" + hashlib.sha256(token.encode()).hexdigest()[:32]
    return "ip:" + client_ip


def ttl_seconds(pttl: int | bytes) -> float:
    return max(int(pttl), 0) / 1000


def retry_after(seconds: float) -> str:
    """A Retry-After value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))


def limit_headers(limit: int, hits: int, reset: float) -> dict[str, str]:
    """The RateLimit-* headers of a response counted in a window of `limit` requests."""
    return {
        "RateLimit-Limit": str(limit),
        "RateLimit-Remaining": str(max(limit - hits, 0)),
        "RateLimit-Reset": str(math.ceil(reset)),
    }


def refusal_headers(limit: int, reset: float) -> dict[str, str]:
    """A 429's headers: the window spent, and when to come back."""
    return {**limit_headers(limit, limit, reset), "Retry-After": retry_after(reset)}


class LimitReached(RateLimited):
    """The per-client window's refusal, found by a script that counted the hit itself (the view
    script): unlike any other refusal, its hit needs no counting again."""


# Below limit - margin a caller's hit is counted without waiting; within it, every hit waits for
# Redis's count, so the refusal at the limit is exact (a tenth: 120 of the default 1,200).
MARGIN_SHARE = 0.1
MAX_CALLERS = 100_000  # windows a process remembers (a few hundred bytes each), for one window


@dataclass(slots=True)
class _Seen:
    """What this process knows of one caller's window: Redis's highest count yet, when the window
    ends (monotonic), and the hits it sent whose count has not come back."""

    hits: int
    resets_at: float
    pending: int = 0


class RateLimiter:
    """The per-client limit every route shares (the middleware and the view fast path)."""

    def __init__(self, window: FixedWindow, limit: int, window_seconds: int) -> None:
        self.window = window
        self.limit = limit
        self.detail = f"rate limit exceeded: {limit} requests per {window_seconds}s"
        self.margin = max(1, math.ceil(limit * MARGIN_SHARE))
        self._seen: TTLCache[str, _Seen] = TTLCache(MAX_CALLERS, window_seconds)

    async def hit(self, identity: str) -> tuple[int, float]:
        """Count one hit: (hits in this window, seconds until it resets), as `FixedWindow.hit`.

        A caller this process has counted in the current window, with its count (Redis's highest
        answer plus the hits still on their way) below `limit - margin`, is answered from that
        count at once; its hit goes in the next batch, whose answer updates the count. Other
        processes' hits reach this one's count only through those answers, so a caller may pass
        its limit by at most the hits one process admits in one Redis round trip: each process
        learns the true count from its next answer, and within the margin every hit waits."""
        key, now = self.window.key(identity), time.monotonic()
        seen = self._seen.get(key)
        if seen is None or now >= seen.resets_at:
            seen = self._seen[key] = _Seen(0, 0.0)
            return await self._count(key, seen)
        if seen.hits + seen.pending + 1 > self.limit - self.margin:
            return await self._count(key, seen)
        self._count(key, seen)
        return seen.hits + seen.pending, seen.resets_at - now

    def learn(self, key: str, hits: int, reset: float) -> None:
        """Redis's count of the window `key` (see `limit_for`), from this limiter's batches or from
        a script that counted a hit itself (the view script). Counts only grow within a window and
        answers of separate round trips may arrive in any order, so the highest is kept."""
        now = time.monotonic()
        seen = self._seen.get(key)
        if seen is None:
            self._seen[key] = _Seen(hits, now + reset)
        elif hits > seen.hits or now >= seen.resets_at:
            seen.hits, seen.resets_at = hits, now + reset

    def _count(self, key: str, seen: _Seen) -> asyncio.Future[tuple[int, float]]:
        counted = self.window.enqueue(key)
        seen.pending += 1

        def answered(done: asyncio.Future[tuple[int, float]]) -> None:
            seen.pending -= 1
            if not done.cancelled() and done.exception() is None:  # an error: its waiter, if any, has it
                self.learn(key, *done.result())

        counted.add_done_callback(answered)
        return counted

    def limit_for(self, identity: str) -> Limit:
        """The caller's window, for a script that counts the hit itself (see `identity`)."""
        return Limit(self.window.key(identity), self.limit, self.window.window_ms)

    def refusal(self, reset: float) -> LimitReached:
        """A caller past the limit, found by a script that counted the hit itself."""
        return LimitReached(self.detail, self.limit, reset)

    def headers(self, hits: int, reset: float) -> dict[str, str]:
        return limit_headers(self.limit, hits, reset)
