"""SQL for users. Every statement names user_id, the table's vindex column (single shard)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from api.domain.users.schemas import User
from api.sql import columns


async def insert(conn: AsyncConnection, name: str, key_hash: bytes) -> int:
    result = await conn.execute(
        text("INSERT INTO users (name, api_key_hash) VALUES (:name, :key_hash)"),
        {"name": name, "key_hash": key_hash},
    )
    return int(result.lastrowid)


async def get_with_hash(conn: AsyncConnection, user_id: int) -> tuple[User, bytes] | None:
    row = (
        await conn.execute(
            text("SELECT user_id, name, created_at, api_key_hash FROM users WHERE user_id = :user_id"),
            {"user_id": user_id},
        )
    ).one_or_none()
    if row is None:
        return None
    fields = columns(row)
    key_hash = bytes(fields.pop("api_key_hash"))
    return User(**fields), key_hash
