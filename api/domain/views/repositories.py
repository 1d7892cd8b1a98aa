"""SQL for view counters. Every statement names channel_id (the vindex column), and the flusher only
ever sends rows of one shard per transaction, so each flush transaction is single-shard."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from api.domain.views.buffer import Delta

# Rows per multi-row statement: large enough to amortise round trips, small enough for max packet.
ROWS_PER_STATEMENT = 2000


def _values(rows: Sequence[tuple[Any, ...]], names: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """`(:a0, :b0), (:a1, :b1)` and its parameters: a multi-row VALUES list, still fully bound."""
    params: dict[str, Any] = {}
    groups = []
    for i, row in enumerate(rows):
        groups.append("(" + ", ".join(f":{n}{i}" for n in names) + ")")
        params.update({f"{n}{i}": v for n, v in zip(names, row, strict=True)})
    return ", ".join(groups), params


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    return [items[i : i + ROWS_PER_STATEMENT] for i in range(0, len(items), ROWS_PER_STATEMENT)]


async def log_batch(
    conn: AsyncConnection, batch_id: str, channel_ids: Sequence[int], applied_at: datetime
) -> int:
    """Record that this batch reached these channels. A replay hits the primary key (error 1062)."""
    statements = 0
    for chunk in _chunks(sorted(channel_ids)):
        values, params = _values([(c, batch_id, applied_at) for c in chunk], ("c", "b", "t"))
        await conn.execute(
            text(f"INSERT INTO flush_log (channel_id, batch_id, applied_at) VALUES {values}"), params
        )
        statements += 1
    return statements


async def logged_channels(conn: AsyncConnection, batch_id: str, channel_ids: Sequence[int]) -> set[int]:
    """The channels this batch already reached (their flush_log rows)."""
    found: set[int] = set()
    for chunk in _chunks(sorted(channel_ids)):
        rows = await conn.execute(
            text("SELECT channel_id FROM flush_log WHERE batch_id = :b AND channel_id IN :c").bindparams(
                bindparam("c", expanding=True)
            ),
            {"b": batch_id, "c": list(chunk)},
        )
        found |= {int(c) for c in rows.scalars()}
    return found


async def add_views(conn: AsyncConnection, deltas: Sequence[Delta]) -> int:
    """Add deltas to the counters: `views = views + VALUES(views)`, never read-modify-write."""
    statements = 0
    for chunk in _chunks(sorted(deltas, key=lambda d: (d.channel_id, d.video_id))):
        values, params = _values([(d.channel_id, d.video_id, d.views) for d in chunk], ("c", "v", "n"))
        await conn.execute(
            text(
                f"INSERT INTO video_views (channel_id, video_id, views) VALUES {values} "
                "ON DUPLICATE KEY UPDATE views = views + VALUES(views)"
            ),
            params,
        )
        statements += 1
    return statements


async def get_views(conn: AsyncConnection, channel_id: int, video_id: int) -> int:
    row = (
        await conn.execute(
            text("SELECT views FROM video_views WHERE channel_id = :channel_id AND video_id = :video_id"),
            {"channel_id": channel_id, "video_id": video_id},
        )
    ).one_or_none()
    return int(row.views) if row else 0


async def applied_batches(conn: AsyncConnection, channel_id: int, batch_ids: Sequence[str]) -> set[str]:
    """Which of these batches a channel's shard has already committed."""
    if not batch_ids:
        return set()
    rows = await conn.execute(
        text(
            "SELECT batch_id FROM flush_log WHERE channel_id = :channel_id AND batch_id IN :batch_ids"
        ).bindparams(bindparam("batch_ids", expanding=True)),
        {"channel_id": channel_id, "batch_ids": list(batch_ids)},
    )
    return {row.batch_id for row in rows}


async def prune_log(conn: AsyncConnection, before: datetime) -> int:
    """Forget replay records older than `before` (only safe below the oldest pending batch). Run on
    one shard at a time, every minute, so each delete covers about a minute of batches."""
    result = await conn.execute(text("DELETE FROM flush_log WHERE applied_at < :before"), {"before": before})
    return int(result.rowcount)
