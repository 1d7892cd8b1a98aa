"""Per-API-key (or per-client-IP) rate limiting, shared by every worker process through Redis.

Litestar's RateLimitMiddleware keeps its lock per process and does get-then-set on the store, so
several workers race past the limit, and it sends no Retry-After. This is a fixed-window counter
made atomic by one Lua script: INCR, set the window's expiry on the first hit, return the TTL.
"""

from __future__ import annotations

import hashlib
import logging
import math

import redis.asyncio as aioredis
import redis.exceptions
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import asgi_error
from api.security import bearer_token

log = logging.getLogger("vidstore.ratelimit")

_WINDOW_SCRIPT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}
"""


class FixedWindow:
    """An atomic counter per identity and window; `hit` says how many hits the window has seen."""

    def __init__(self, client: aioredis.Redis, prefix: str, window_seconds: int) -> None:
        self._script = client.register_script(_WINDOW_SCRIPT)
        self._prefix = prefix
        self._window_ms = window_seconds * 1000

    async def hit(self, identity: str) -> tuple[int, float]:
        """Count one hit; return (hits in this window, seconds until the window resets)."""
        count, ttl_ms = await self._script(keys=[f"{self._prefix}:{identity}"], args=[self._window_ms])
        return int(count), max(int(ttl_ms), 0) / 1000

    async def count(self, identity: str) -> int:
        value = await self._script.registered_client.get(f"{self._prefix}:{identity}")
        return int(value or 0)


def client_identity(scope: Scope) -> str:
    """The API key's digest when a bearer key is sent, else the client's IP address."""
    headers = dict(scope.get("headers", []))
    token = bearer_token(headers.get(b"authorization", b"").decode("latin-1"))
    if token:
        return "key:" + hashlib.sha256(token.encode()).hexdigest()[:32]
    client = scope.get("client")
    return "ip:" + (client[0] if client else "unknown")


def _unlimited_path(scope: Scope) -> bool:
    return str(scope["path"]).startswith(("/health", "/metrics", "/schema"))


class RateLimitMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)
    # Probes, metrics scrapes and the docs are never limited.
    should_bypass_for_scope = staticmethod(_unlimited_path)
    exclude_opt_key = "no_rate_limit"

    def __init__(self, limit: int, window_seconds: int) -> None:
        self.limit = limit
        self.window_seconds = window_seconds

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        window: FixedWindow = scope["litestar_app"].state.app.rate_window
        try:
            hits, reset = await window.hit(client_identity(scope))
        except redis.exceptions.RedisError as exc:
            # Fail open: losing the limiter for a moment is better than refusing every request.
            log.warning("rate limiter unavailable, request let through: %r", exc)
            await next_app(scope, receive, send)
            return
        if hits > self.limit:
            detail = f"rate limit exceeded: {self.limit} requests per {self.window_seconds}s"
            await asgi_error(429, detail, reset)(scope, receive, send)
            return
        remaining = str(self.limit - hits)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                headers["RateLimit-Limit"] = str(self.limit)
                headers["RateLimit-Remaining"] = remaining
                headers["RateLimit-Reset"] = str(math.ceil(reset))
            await send(message)

        await next_app(scope, receive, send_with_headers)
