"""Per-API-key (or per-client-IP) rate limiting, shared by every worker process through Redis.

Litestar's RateLimitMiddleware keeps its lock per process and does get-then-set on the store, so
several workers race past the limit, and it sends no Retry-After. This is a fixed-window counter
made atomic by one Lua script: INCR, set the window's expiry on the first hit, return the TTL.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass

import redis.asyncio as aioredis
import redis.exceptions
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.exceptions import TooManyRequestsException
from litestar.middleware import ASGIMiddleware
from litestar.response.base import ASGIResponse
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.batching import Coalescer
from api.errors import asgi_error, retry_after
from api.security import bearer_token

log = logging.getLogger("vidstore.ratelimit")

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


def client_identity(scope: Scope) -> str:
    authorization = dict(scope.get("headers", [])).get(b"authorization")
    client = scope.get("client")
    return identity(
        authorization.decode("latin-1") if authorization is not None else None,
        client[0] if client else "unknown",
    )


def _unlimited_path(scope: Scope) -> bool:
    return str(scope["path"]).startswith(("/health", "/metrics", "/schema"))


@dataclass(frozen=True, slots=True)
class Verdict:
    refusal: ASGIResponse | None  # a 429 to send instead of handling the request
    headers: dict[str, str]  # RateLimit-* headers for the response


class RateLimited(TooManyRequestsException):
    """A caller past the limit, found by a script that counted the hit itself."""


def ttl_seconds(pttl: int | bytes) -> float:
    return max(int(pttl), 0) / 1000


class RateLimiter:
    """The per-client limit every route shares (the middleware and the view fast path)."""

    def __init__(self, window: FixedWindow, limit: int, window_seconds: int) -> None:
        self.window = window
        self.limit = limit
        self.window_seconds = window_seconds
        self.detail = f"rate limit exceeded: {limit} requests per {window_seconds}s"

    def limit_for(self, identity: str) -> Limit:
        """The caller's window, for a script that counts the hit itself (see `identity`)."""
        return Limit(self.window.key(identity), self.limit, self.window.window_ms)

    async def check(self, scope: Scope) -> Verdict:
        try:
            hits, reset = await self.window.hit(client_identity(scope))
        except redis.exceptions.RedisError as exc:
            # Fail open: losing the limiter for a moment is better than refusing every request.
            log.warning("rate limiter unavailable, request let through: %r", exc)
            return Verdict(None, {})
        if hits > self.limit:
            return Verdict(asgi_error(429, self.detail, reset, self.headers(hits, reset)), {})
        return Verdict(None, self.headers(hits, reset))

    def refusal(self, reset: float) -> RateLimited:
        return RateLimited(detail=self.detail, headers=refusal_headers(self.limit, reset))

    def headers(self, hits: int, reset: float) -> dict[str, str]:
        return limit_headers(self.limit, hits, reset)


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


def limiter_of(scope: Scope) -> RateLimiter:
    limiter: RateLimiter = scope["litestar_app"].state.app.limiter
    return limiter


class RateLimitMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)
    # Probes, metrics scrapes and the docs are never limited.
    should_bypass_for_scope = staticmethod(_unlimited_path)
    exclude_opt_key = "no_rate_limit"

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        verdict = await limiter_of(scope).check(scope)
        if verdict.refusal is not None:
            await verdict.refusal(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and verdict.headers:
                headers = MutableScopeHeaders.from_message(message)
                for name, value in verdict.headers.items():
                    if headers.get(name) is None:  # a refusal by another limit keeps its own
                        headers[name] = value
            await send(message)

        await next_app(scope, receive, send_with_headers)
