"""A hot video is not a hot row: views are summed in Redis and each flush writes one counter row per
video, so database statements depend on flush passes and shards, not on views."""

from __future__ import annotations

import random
import secrets
from collections import Counter

from api.domain.views import repositories as view_repo
from tests.conftest import Api, report

VIEWS = 10_000
VIDEOS = 1_000
FLUSH_EVERY = 1_000  # views between flush passes: one pass a second at 1,000 views/s


async def test_statements_per_10k_zipf_views(api: Api) -> None:
    rng = random.Random(7)
    base = 2 * 10**12 + secrets.randbelow(10**9) * 1000
    videos = [(base + i % 40, base + i) for i in range(VIDEOS)]  # 40 channels over both shards
    weights = [1 / (rank + 1) ** 1.2 for rank in range(VIDEOS)]  # Zipf: the top video gets ~1/5
    stream = rng.choices(videos, weights, k=VIEWS)
    flusher = api.flusher()
    await flusher.flush_once()  # start from an empty buffer
    statements = passes = rows = 0
    for start in range(0, VIEWS, FLUSH_EVERY):
        for channel_id, video_id in stream[start : start + FLUSH_EVERY]:
            await api.services.buffer.record(channel_id, video_id, viewer="zipf")
        result = await flusher.flush_once()
        assert result.failed == 0
        statements, rows, passes = statements + result.statements, rows + result.rows, passes + 1
    expected = Counter(video_id for _, video_id in stream)
    top_video, top_views = expected.most_common(1)[0]
    async with api.services.db.primary.connect() as conn:
        for channel_id, video_id in videos[:50]:
            assert await view_repo.get_views(conn, channel_id, video_id) == expected[video_id]
    shards = len(await flusher.shards())
    assert statements <= passes * shards * 2  # a flush_log insert and a counter upsert per shard
    report(
        f"hot videos: {VIEWS} Zipf views (top video {top_views}) -> {statements} DB statements "
        f"({passes} passes x {shards} shard(s)), {rows} row upserts; naive per-view UPDATEs: {VIEWS} "
        f"statements ({VIEWS / statements:.0f}x more)"
    )
    assert top_video == videos[0][1]
