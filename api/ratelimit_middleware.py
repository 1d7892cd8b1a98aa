"""The rate limit at the HTTP edge: a middleware that counts every request's hit (api.ratelimit) and
answers 429 past the limit, or adds the RateLimit-* headers to the response. Routes opt out with
`opt={"no_rate_limit": True}`; probes, metrics and the docs are never limited."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis.exceptions
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.response.base import ASGIResponse
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.caller import Caller
from api.errors import asgi_error
from api.ratelimit import RateLimiter

log = logging.getLogger("vidstore.ratelimit")


def _unlimited_path(scope: Scope) -> bool:
    return str(scope["path"]).startswith(("/health", "/metrics", "/schema"))


@dataclass(frozen=True, slots=True)
class LimitCheck:
    refusal: ASGIResponse | None  # a 429 to send instead of handling the request
    headers: dict[str, str]  # RateLimit-* headers for the response
    reset: float = 0.0  # when the window resets (epoch seconds)


async def check(limiter: RateLimiter, scope: Scope) -> LimitCheck:
    """Count this request's hit: a 429 to send past the limit, else the headers to add."""
    try:
        hits, reset = await limiter.hit(Caller.of(scope).limit_identity)
    except redis.exceptions.RedisError as exc:
        # Fail open: losing the limiter for a moment is better than refusing every request.
        log.warning("rate limiter unavailable, request let through: %r", exc)
        return LimitCheck(None, {})
    if hits > limiter.limit:
        return LimitCheck(asgi_error(429, limiter.detail, reset, limiter.headers(hits, reset)), {}, reset)
    return LimitCheck(None, limiter.headers(hits, reset), reset)


def limiter_of(scope: Scope) -> RateLimiter:
    limiter: RateLimiter = scope["litestar_app"].state.services.limiter
    return limiter


class RateLimitMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)
    # Probes, metrics scrapes and the docs are never limited.
    should_bypass_for_scope = staticmethod(_unlimited_path)
    exclude_opt_key = "no_rate_limit"

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        checked = await check(limiter_of(scope), scope)
        if checked.refusal is not None:
            await checked.refusal(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and checked.headers:
                headers = MutableScopeHeaders.from_message(message)
                for name, value in checked.headers.items():
                    if headers.get(name) is None:  # a refusal by another limit keeps its own
                        headers[name] = value
            await send(message)

        await next_app(scope, receive, send_with_headers)
