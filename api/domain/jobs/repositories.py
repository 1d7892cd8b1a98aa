"""SQL for the job outbox (`job_outbox`, sharded by channel_id like the videos it is about)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True, slots=True)
class Intent:
    channel_id: int
    video_id: int
    kind: str


async def add(conn: AsyncConnection, intent: Intent) -> None:
    """In the caller's transaction (the state change's own, on the video's shard). A repeat of a
    pending intent is the same intent."""
    await conn.execute(
        text(
            "INSERT INTO job_outbox (channel_id, video_id, kind) VALUES (:channel_id, :video_id, :kind) "
            "ON DUPLICATE KEY UPDATE kind = kind"
        ),
        {"channel_id": intent.channel_id, "video_id": intent.video_id, "kind": intent.kind},
    )


async def remove(conn: AsyncConnection, intent: Intent) -> None:
    await conn.execute(
        text(
            "DELETE FROM job_outbox WHERE channel_id = :channel_id AND video_id = :video_id AND kind = :kind"
        ),
        {"channel_id": intent.channel_id, "video_id": intent.video_id, "kind": intent.kind},
    )


async def older_than(conn: AsyncConnection, seconds: float, limit: int) -> list[Intent]:
    """Intents left behind for at least `seconds` (by the database's clock); all shards."""
    rows = await conn.execute(
        text(
            "SELECT channel_id, video_id, kind FROM job_outbox "
            "WHERE created_at <= NOW(6) - INTERVAL :micros MICROSECOND ORDER BY created_at LIMIT :limit"
        ),
        {"micros": int(seconds * 1_000_000), "limit": limit},
    )
    return [Intent(int(r.channel_id), int(r.video_id), str(r.kind)) for r in rows]
