"""Who sent a request, as the API sees it: the one place a request's client address, API key header
and user agent are read (the rate limit, the key check, view dedupe and IP-bound tokens all use it).

Behind the front (stack/front/haproxy.cfg) every request's peer is the front itself, so
`forwarded_for` puts the client's address, from X-Forwarded-For, in the scope first; it believes the
header only from the addresses in VIDSTORE_TRUSTED_PROXIES (the front's own source address), so a
client that talks to the API directly cannot claim to be another."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from granian.utils.proxies import wrap_asgi_with_proxy_headers
from litestar.types import ASGIApp

from api.ratelimit import identity

__all__ = ["Caller", "forwarded_for"]


def forwarded_for(trusted: tuple[str, ...]) -> Callable[[ASGIApp], ASGIApp]:
    """A middleware: the client's address from X-Forwarded-For (the last hop no trusted proxy
    added) when the peer is one of `trusted` (addresses or CIDR networks); the peer otherwise."""

    def middleware(app: ASGIApp) -> ASGIApp:
        return cast(ASGIApp, wrap_asgi_with_proxy_headers(app, trusted_hosts=list(trusted)))

    return middleware


@dataclass(frozen=True, slots=True)
class Caller:
    ip: str  # the peer's address ("unknown" when the server gives none)
    authorization: str | None  # the Authorization header as sent
    user_agent: str

    @classmethod
    def of(cls, scope: Mapping[str, Any]) -> Caller:
        """From an ASGI scope (the view fast path, a middleware, or a Litestar request's scope)."""
        headers: dict[bytes, bytes] = dict(scope.get("headers") or ())
        authorization = headers.get(b"authorization")
        client = scope.get("client")
        return cls(
            ip=client[0] if client else "unknown",
            authorization=authorization.decode("latin-1") if authorization is not None else None,
            user_agent=headers.get(b"user-agent", b"").decode("latin-1"),
        )

    @property
    def limit_identity(self) -> str:
        """Whose rate-limit window a request counts in: the API key's, else the address's."""
        return identity(self.authorization, self.ip)
