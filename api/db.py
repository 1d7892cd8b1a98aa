"""Database engines: the primary for writes and read-your-writes, a replica engine for feeds."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

# MySQL/MariaDB error codes the API maps to client errors.
ER_DUP_ENTRY = 1062


@dataclass(frozen=True, slots=True)
class Database:
    primary: AsyncEngine
    replica: AsyncEngine

    @classmethod
    def connect(cls, primary_url: str, replica_url: str) -> Database:
        primary = _engine(primary_url)
        replica = primary if replica_url == primary_url else _engine(replica_url)
        return cls(primary=primary, replica=replica)

    async def dispose(self) -> None:
        await self.primary.dispose()
        if self.replica is not self.primary:
            await self.replica.dispose()


def _engine(url: str) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        pool_recycle=1800,
        # Every statement is its own transaction unless a repository opens one with begin().
        isolation_level="READ COMMITTED",
    )


def mysql_error_code(exc: BaseException) -> int | None:
    """The server's error number behind a SQLAlchemy DBAPIError, if any."""
    orig = getattr(exc, "orig", None)
    args = getattr(orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None
