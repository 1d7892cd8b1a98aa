"""SQL for channels: every statement is by channel_id, the vindex column (single shard)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from api.domain.channels.schemas import Channel
from api.sql import columns, set_clause

_COLUMNS = "channel_id, owner_id, title, description, created_at, updated_at"
UPDATABLE = frozenset({"title", "description"})


async def insert(conn: AsyncConnection, owner_id: int, title: str, description: str) -> int:
    result = await conn.execute(
        text("INSERT INTO channels (owner_id, title, description) VALUES (:owner_id, :title, :description)"),
        {"owner_id": owner_id, "title": title, "description": description},
    )
    return int(result.lastrowid)


async def get(conn: AsyncConnection, channel_id: int) -> Channel | None:
    row = (
        await conn.execute(
            text(f"SELECT {_COLUMNS} FROM channels WHERE channel_id = :channel_id"),
            {"channel_id": channel_id},
        )
    ).one_or_none()
    return None if row is None else Channel(**columns(row))


async def update(conn: AsyncConnection, channel_id: int, fields: dict[str, Any]) -> None:
    await conn.execute(
        text(f"UPDATE channels SET {set_clause(fields, UPDATABLE)} WHERE channel_id = :channel_id"),
        {**fields, "channel_id": channel_id},
    )
