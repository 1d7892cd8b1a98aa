"""Database engines: the primary for writes and read-your-writes, a replica engine for feeds."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InternalError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

log = logging.getLogger("vidstore.db")
T = TypeVar("T")
P = ParamSpec("P")

# MySQL/MariaDB error codes the API maps to client errors.
ER_DUP_ENTRY = 1062


@dataclass(frozen=True, slots=True)
class Database:
    """`primary`: transactions, and reads that must see the caller's own writes. `replica`: reads of
    one statement each (feeds, a video by id), on an engine of their own (see `_read_engine`); with
    a single database (MariaDB) both engines point at it."""

    primary: AsyncEngine
    replica: AsyncEngine

    @classmethod
    def connect(cls, primary_url: str, replica_url: str) -> Database:
        return cls(primary=_engine(primary_url), replica=_read_engine(replica_url))

    async def read_replica(self, read: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run a read on a replica. A pooled connection found dead (vtgate restarted) is dropped and
        the read runs again on a new one; when no replica can serve (down, or more than the tablets'
        unhealthy threshold behind), the primary answers: staleness stays bounded."""
        for stale_retry in (True, False):
            try:
                async with self.replica.connect() as conn:
                    return await read(conn)
            except DBAPIError as exc:
                if exc.connection_invalidated and stale_retry:
                    continue
                if not isinstance(exc, (OperationalError, InternalError)):
                    raise
                log.warning("replica read failed, reading the primary: %r", exc.orig)
                break
        async with self.primary.connect() as conn:
            return await read(conn)

    async def dispose(self) -> None:
        await self.primary.dispose()
        await self.replica.dispose()


def _engine(url: str) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        pool_recycle=1800,
        # Isolation is the servers' setting (READ-COMMITTED, see stack/): a per-session SET would pin
        # every vtgate session to a reserved connection, and MariaDB 10.11 has no transaction_isolation.
    )


def _read_engine(url: str) -> AsyncEngine:
    """Reads of one statement need no transaction: in autocommit, with the rollback on return skipped,
    and without the checkout ping, a read is one round trip instead of three (measured in
    BENCHMARKS.md, "Where an uncached get-video's time goes"). A connection that went stale fails
    its read instead, and `read_replica` reads again (SQLAlchemy's optimistic disconnect handling:
    the failure invalidates the pool's older connections too)."""
    return create_async_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=False,
        pool_recycle=1800,
        isolation_level="AUTOCOMMIT",
        skip_autocommit_rollback=True,
    )


def mysql_error_code(exc: BaseException) -> int | None:
    """The server's error number behind a SQLAlchemy DBAPIError, if any."""
    orig = getattr(exc, "orig", None)
    args = getattr(orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


async def cluster_shards(engine: AsyncEngine) -> list[str]:
    """The shards of the engine's keyspace as vtgate serves them now (`SHOW VITESS_SHARDS`);
    a plain MariaDB, which does not know the statement, is one shard holding the whole range."""
    keyspace = engine.url.database
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SHOW VITESS_SHARDS"))).scalars().all()
    except ProgrammingError:
        return ["-"]
    return [str(row).partition("/")[2] for row in rows if str(row).startswith(f"{keyspace}/")]


@asynccontextmanager
async def on_shard(engine: AsyncEngine, shard: str) -> AsyncIterator[AsyncConnection]:
    """A transaction whose statements go to one shard only (vtgate's `USE keyspace:shard`).

    For maintenance that names no vindex column: vtgate would fan such DML out to every shard in
    one transaction, which SINGLE transaction mode refuses. The whole key range ("-" or "0") is a
    plain transaction (one database)."""
    keyspace = engine.url.database
    targeted = shard not in ("-", "0")
    async with engine.connect() as conn:
        if targeted:
            await conn.execute(text(f"USE `{keyspace}:{shard}`"))
        try:
            yield conn
            await conn.commit()
        except BaseException:
            await conn.rollback()
            raise
        finally:
            if targeted:  # the pooled connection goes back routing by vindex again
                await conn.execute(text(f"USE `{keyspace}`"))
                await conn.commit()


# What vtgate answers during a resharding cutover (or a primary switch) for a statement it did not
# apply, so running the transaction again is safe: its buffer gave up or was full, the old primary
# stopped serving, or the one buffered statement released into a closed session (VT13001).
RETRYABLE_VITESS_ERRORS = (
    "vtgate buffer",
    "buffer full",
    "primary is not serving",
    "VT13001: [BUG] unexpected 'autocommitted' state",
)
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0)  # seconds: ~4 s in all, a cutover's length


def retryable(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and any(m in str(exc.orig) for m in RETRYABLE_VITESS_ERRORS)


def retry_cutover(work: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Run `work` again when Vitess reports a cutover error it did not apply (nothing else is retried).
    For service functions whose writes are one transaction: a retry never applies anything twice."""

    @functools.wraps(work)
    async def retrying(*args: P.args, **kwargs: P.kwargs) -> T:
        for delay in RETRY_DELAYS:
            try:
                return await work(*args, **kwargs)
            except DBAPIError as exc:
                if not retryable(exc):
                    raise
                log.warning("%s: retrying a cutover error in %.1f s: %s", work.__name__, delay, exc.orig)
                await asyncio.sleep(delay)
        return await work(*args, **kwargs)

    return retrying
