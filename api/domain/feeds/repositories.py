"""SQL for subscriptions: keyed by user_id, the table's vindex column (single shard)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# A home feed fans out to the shards of at most this many channels (the newest subscriptions).
MAX_FEED_CHANNELS = 1000


async def subscribe(conn: AsyncConnection, user_id: int, channel_id: int) -> None:
    await conn.execute(
        text("INSERT IGNORE INTO subscriptions (user_id, channel_id) VALUES (:user_id, :channel_id)"),
        {"user_id": user_id, "channel_id": channel_id},
    )


async def unsubscribe(conn: AsyncConnection, user_id: int, channel_id: int) -> None:
    await conn.execute(
        text("DELETE FROM subscriptions WHERE user_id = :user_id AND channel_id = :channel_id"),
        {"user_id": user_id, "channel_id": channel_id},
    )


async def channel_ids(conn: AsyncConnection, user_id: int) -> list[int]:
    rows = await conn.execute(
        text(
            "SELECT channel_id FROM subscriptions WHERE user_id = :user_id "
            "ORDER BY created_at DESC LIMIT :limit"
        ),
        {"user_id": user_id, "limit": MAX_FEED_CHANNELS},
    )
    return [int(row.channel_id) for row in rows]
