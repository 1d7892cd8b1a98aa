"""What can go wrong in the domain, as the services say it. Services raise these; the HTTP edge maps
each kind to its status in one place (`api.errors`), so the worker and the CLI, which call the same
services, never receive an HTTP exception.

    DomainError
    ├── InvalidInput    a field's value cannot be used (400, naming the field)
    ├── Unauthenticated no valid credentials (401)
    ├── Forbidden       authenticated, but not allowed (403)
    ├── NotFound        no such thing, or not visible to the caller (404)
    ├── Conflict        the thing's state does not allow it now (409)
    └── RateLimited     too many requests or failed attempts in a window (429)
"""

from __future__ import annotations

__all__ = [
    "Conflict",
    "DomainError",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "RateLimited",
    "Unauthenticated",
]


class DomainError(Exception):
    """A failure the caller can act on; `detail` says what, in words fit for a client."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(DomainError):
    """`field`'s value is refused; `source` says where it came from (body, path, query, header)."""

    def __init__(self, field: str, message: str, source: str = "body") -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message, self.source = field, message, source


class Unauthenticated(DomainError):
    pass


class Forbidden(DomainError):
    pass


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    pass


class RateLimited(DomainError):
    """Past `limit` in the current window, which resets in `reset` seconds."""

    def __init__(self, detail: str, limit: int, reset: float) -> None:
        super().__init__(detail)
        self.limit, self.reset = limit, reset
