"""SQL for videos. Reads by video_id go through the `video_lookup` vindex (two hops, one shard);
everything else names channel_id, the primary vindex column."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from api.domain.videos.schemas import Video
from api.sql import columns, set_clause

_COLUMNS = (
    "video_id, channel_id, owner_id, title, description, status, visibility, duration_ms, "
    "failure_reason, created_at, updated_at, manifest_key, source_key, thumbnail_key"
)
UPDATABLE = frozenset(
    {
        "title",
        "description",
        "visibility",
        "status",
        "duration_ms",
        "failure_reason",
        "manifest_key",
        "source_key",
        "thumbnail_key",
    }
)


def _video(row: Any) -> Video:
    return Video(**columns(row))


async def insert(
    conn: AsyncConnection, channel_id: int, owner_id: int, title: str, description: str, visibility: str
) -> int:
    result = await conn.execute(
        text(
            "INSERT INTO videos (channel_id, owner_id, title, description, visibility) "
            "VALUES (:channel_id, :owner_id, :title, :description, :visibility)"
        ),
        {
            "channel_id": channel_id,
            "owner_id": owner_id,
            "title": title,
            "description": description,
            "visibility": visibility,
        },
    )
    return int(result.lastrowid)


async def get(conn: AsyncConnection, video_id: int) -> Video | None:
    row = (
        await conn.execute(
            text(f"SELECT {_COLUMNS} FROM videos WHERE video_id = :video_id"), {"video_id": video_id}
        )
    ).one_or_none()
    return None if row is None else _video(row)


async def update(conn: AsyncConnection, channel_id: int, video_id: int, fields: dict[str, Any]) -> None:
    await conn.execute(
        text(
            f"UPDATE videos SET {set_clause(fields, UPDATABLE)} "
            "WHERE channel_id = :channel_id AND video_id = :video_id"
        ),
        {**fields, "channel_id": channel_id, "video_id": video_id},
    )


async def delete(conn: AsyncConnection, channel_id: int, video_id: int) -> None:
    """The video and its counter row live on the same shard: one single-shard transaction."""
    params = {"channel_id": channel_id, "video_id": video_id}
    await conn.execute(
        text("DELETE FROM video_views WHERE channel_id = :channel_id AND video_id = :video_id"), params
    )
    await conn.execute(
        text("DELETE FROM videos WHERE channel_id = :channel_id AND video_id = :video_id"), params
    )


async def list_channel(
    conn: AsyncConnection, channel_id: int, before: int | None, limit: int, public_only: bool
) -> list[Video]:
    """A channel's videos, newest first (ids grow with time), starting below `before`."""
    where = ["channel_id = :channel_id"]
    if public_only:
        where.append("status = 'ready' AND visibility = 'public'")
    if before is not None:
        where.append("video_id < :before")
    rows = await conn.execute(
        text(
            f"SELECT {_COLUMNS} FROM videos WHERE {' AND '.join(where)} ORDER BY video_id DESC LIMIT :limit"
        ),
        {"channel_id": channel_id, "before": before, "limit": limit},
    )
    return [_video(row) for row in rows]


async def list_feed(
    conn: AsyncConnection, channel_ids: Sequence[int], before: int | None, limit: int
) -> list[Video]:
    """Newest ready public videos of these channels; vtgate sends it only to their shards."""
    if not channel_ids:
        return []
    below = "AND video_id < :before " if before is not None else ""
    statement = text(
        f"SELECT {_COLUMNS} FROM videos WHERE channel_id IN :channel_ids "
        f"AND status = 'ready' AND visibility = 'public' {below}"
        "ORDER BY video_id DESC LIMIT :limit"
    ).bindparams(bindparam("channel_ids", expanding=True))
    rows = await conn.execute(statement, {"channel_ids": list(channel_ids), "before": before, "limit": limit})
    return [_video(row) for row in rows]
