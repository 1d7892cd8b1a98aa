"""The read engine (`Database.replica`): a read is one statement on the wire, and a pooled connection
the server dropped is read again on a new one, without falling back to the primary."""

from __future__ import annotations

import itertools
import logging

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.conftest import BACKEND, Api

# vtgate answers SESSION_STATUS from a tablet's connection, not ours: the server-side count of our
# own session's statements exists on MariaDB only. The engine settings are the same on both.
mariadb_only = pytest.mark.skipif(BACKEND != "mariadb", reason="session counters: the MariaDB pass")


async def session(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(
        text(
            "SELECT VARIABLE_NAME, VARIABLE_VALUE FROM information_schema.SESSION_STATUS"
            " WHERE VARIABLE_NAME IN ('COM_ROLLBACK', 'QUESTIONS')"
        )
    )
    counts = {str(name).lower(): int(value) for name, value in rows}
    ids = await conn.execute(text("SELECT CONNECTION_ID()"))
    return counts | {"id": int(ids.scalar_one())}


@mariadb_only
async def test_a_read_is_one_statement_and_leaves_no_rollback(api: Api) -> None:
    db = api.services.db
    seen = [await db.read_replica(session) for _ in range(5)]
    assert len({s["id"] for s in seen}) == 1, seen  # one pooled connection, reused
    # Each read sends its two statements and nothing else: no ROLLBACK when it goes back to the pool.
    assert [b["questions"] - a["questions"] for a, b in itertools.pairwise(seen)] == [2] * 4, seen
    assert {s["com_rollback"] for s in seen} == {0}, seen
    # The primary's engine, for transactions, still rolls back what a read-only use left open.
    async with db.primary.connect() as conn:
        first = await session(conn)
    async with db.primary.connect() as conn:
        second = await session(conn)
    assert first["id"] == second["id"] and second["com_rollback"] > first["com_rollback"], (first, second)


@mariadb_only
async def test_a_dropped_connection_is_read_again_on_the_replica(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    db = api.services.db
    before = await db.read_replica(session)
    async with db.primary.begin() as conn:
        await conn.execute(text(f"KILL CONNECTION {before['id']}"))
    with caplog.at_level(logging.WARNING, logger="vidstore.db"):
        after = await db.read_replica(session)
    assert after["id"] != before["id"]
    assert "reading the primary" not in caplog.text  # read again on the read engine, not moved
