"""Who sent a request, as the API sees it: the one place a request's client address, API key header
and user agent are read (the rate limit, the key check, view dedupe and IP-bound tokens all use it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api.ratelimit import identity

__all__ = ["Caller"]


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
