"""View counting: 202 at once into Redis, flushed in batches with exactly-once effect."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from api import faultpoints
from sharding import shard_for, validate_shards
from tests.conftest import Api, base_settings, running


@pytest.fixture(scope="module")
async def api() -> AsyncIterator[Api]:
    """These tests read the buffer's global state (every pending batch, the flush lag), so they get
    a Redis prefix of their own: views and flushers of the rest of the suite cannot show up in it."""
    async with running(base_settings(redis_prefix="test-views")) as helper:
        yield helper


async def db_views(api: Api, video_id: int) -> int:
    async with api.services.db.primary.connect() as conn:
        row = (
            await conn.execute(text("SELECT views FROM video_views WHERE video_id = :v"), {"v": video_id})
        ).one_or_none()
    return int(row.views) if row else 0


async def test_view_is_accepted_buffered_then_flushed(api: Api) -> None:
    alice = await api.user()
    video_id = await api.video(alice, await api.channel(alice))
    for _ in range(3):
        response = await api.view(video_id)
        assert response.status_code == 202
        assert response.json() == {"video_id": video_id, "accepted": True, "counted": True}
    assert await db_views(api, video_id) == 0  # nothing written to the database on the request path
    counts = await api.views(video_id)
    assert (counts["views"], counts["flushed"], counts["buffered"]) == (3, 0, 3)

    report = await api.flusher().flush_once()
    assert report.failed == 0 and report.views >= 3
    assert await db_views(api, video_id) == 3
    counts = await api.views(video_id)
    assert (counts["views"], counts["flushed"], counts["buffered"]) == (3, 3, 0)

    await api.view(video_id)
    assert (await api.views(video_id))["views"] == 4


async def test_views_only_for_visible_ready_videos(api: Api) -> None:
    alice = await api.user()
    channel_id = await api.channel(alice)
    draft = await api.video(alice, channel_id, visibility="public", ready=False)
    private = await api.video(alice, channel_id, visibility="private")
    assert (await api.view(draft)).status_code == 404  # a draft is invisible to others
    owner_view = await api.client.post(f"/v1/videos/{draft}/views", headers=alice.auth)
    assert owner_view.status_code == 409 and "draft" in owner_view.json()["detail"]
    assert (await api.view(private)).status_code == 404
    assert (await api.client.post(f"/v1/videos/{private}/views", headers=alice.auth)).status_code == 202
    assert (await api.view(424242424242)).status_code == 404
    assert (await api.client.get(f"/v1/videos/{private}/views")).status_code == 404


async def test_one_statement_pair_per_shard_per_batch(api: Api) -> None:
    """Many videos on two shards: one flush_log insert and one counter upsert per shard."""
    alice = await api.user()
    channel_ids = [await api.channel(alice) for _ in range(6)]
    videos = [await api.video(alice, c) for c in channel_ids for _ in range(2)]
    flusher = api.flusher(("-80", "80-"))
    await flusher.flush_once()  # drain what earlier tests left buffered
    for video_id in videos:
        for _ in range(2):
            await api.view(video_id)
    report = await flusher.flush_once()
    shards_touched = report.applied
    assert report.failed == 0 and report.rows == len(videos) and report.views == 2 * len(videos)
    assert 1 <= shards_touched <= 2 and report.statements == 2 * shards_touched
    for video_id in videos:
        assert await db_views(api, video_id) == 2


async def test_replaying_a_committed_batch_counts_nothing_twice(api: Api) -> None:
    """A flusher that dies after the commit but before dropping the batch: the batch is applied
    again later, and the flush_log row makes that a no-op."""
    alice = await api.user()
    video_id = await api.video(alice, await api.channel(alice))
    for _ in range(5):
        await api.view(video_id)
    flusher = api.flusher()
    batch_id = await api.services.buffer.claim("crashed-flusher", lease_seconds=30)
    assert batch_id is not None
    deltas = await api.services.buffer.deltas(batch_id)
    await flusher._apply_shard(batch_id, deltas)  # committed ... then the process "dies"
    await api.services.buffer.release(batch_id, "crashed-flusher")
    assert await db_views(api, video_id) == 5
    assert (await api.views(video_id))["views"] == 5  # the pending copy is not counted twice

    report = await flusher.flush_once()
    assert report.replayed == 1 and report.failed == 0 and batch_id in report.batches_done
    assert await db_views(api, video_id) == 5
    assert await api.services.buffer.pending() == []


async def test_a_batch_half_applied_before_a_merge_is_finished_once_after_it(api: Api) -> None:
    """Shards -40 and 40-80 merge into -80 while a batch is pending that reached only -40: under the
    new map the batch is one group for -80, and the views for the 40-80 channel still count, once."""
    quarters = validate_shards(["-40", "40-80", "80-c0", "c0-"])
    alice = await api.user()
    by_quarter: dict[str, int] = {}
    while not {"-40", "40-80"} <= set(by_quarter):
        channel_id = await api.channel(alice)
        by_quarter.setdefault(shard_for(channel_id, quarters), channel_id)
    videos = [await api.video(alice, by_quarter[q]) for q in ("-40", "40-80")]
    await api.flusher(("-80", "80-")).flush_once()  # drain what earlier tests left buffered
    for video_id in videos:
        for _ in range(3):
            await api.view(video_id)
    commits = 0

    async def second_commit_fails(conn: object) -> None:
        nonlocal commits
        commits += 1
        if commits == 2:
            raise OperationalError("injected: 40-80's primary went away", None, Exception())

    faultpoints.inject("before_commit", second_commit_fails)
    try:
        half = await api.flusher(("-40", "40-80", "80-c0", "c0-")).flush_once()
    finally:
        faultpoints.inject("before_commit", None)
    assert (half.applied, half.failed) == (1, 1) and len(await api.services.buffer.pending()) == 1
    assert [await db_views(api, v) for v in videos] == [3, 0]
    merged = await api.flusher(("-80", "80-")).flush_once()
    assert merged.failed == 0 and merged.views == 3 and await api.services.buffer.pending() == []
    assert [await db_views(api, v) for v in videos] == [3, 3]


async def test_a_leased_batch_is_left_to_its_flusher(api: Api) -> None:
    alice = await api.user()
    video_id = await api.video(alice, await api.channel(alice))
    await api.view(video_id)
    batch_id = await api.services.buffer.claim("other-live-flusher", lease_seconds=30)
    assert batch_id is not None
    report = await api.flusher().flush_once()
    assert batch_id not in report.batches_done and await db_views(api, video_id) == 0
    await api.services.buffer.release(batch_id, "other-live-flusher")  # its lease ends (or expires)
    assert batch_id in (await api.flusher().flush_once()).batches_done
    assert await db_views(api, video_id) == 1


async def test_prune_forgets_old_replay_records(api: Api) -> None:
    alice = await api.user()
    channel_id = await api.channel(alice)
    video_id = await api.video(alice, channel_id)
    await api.view(video_id)
    await api.flusher().flush_once()
    params = {"c": channel_id}
    async with api.services.db.primary.begin() as conn:
        aged = await conn.execute(
            text("UPDATE flush_log SET applied_at = applied_at - INTERVAL 2 DAY WHERE channel_id = :c"),
            params,
        )
        assert aged.rowcount == 1
    assert await api.flusher().prune() >= 1  # on every shard, one at a time
    async with api.services.db.primary.connect() as conn:
        left = await conn.execute(text("SELECT COUNT(*) FROM flush_log WHERE channel_id = :c"), params)
        assert left.scalar_one() == 0


async def test_a_viewers_repeats_within_the_window_count_once() -> None:
    from tests.conftest import base_settings, running

    async with running(base_settings(view_dedupe_seconds=60, redis_prefix="dedupe")) as app:
        alice, bob = await app.user(), await app.user()
        video_id = await app.video(alice, await app.channel(alice))
        url = f"/v1/videos/{video_id}/views"
        anonymous = [(await app.client.post(url)).json()["counted"] for _ in range(3)]
        assert anonymous == [True, False, False]
        other_device = await app.client.post(url, headers={"User-Agent": "tv-app/2.1"})
        assert other_device.json()["counted"] is True
        assert [(await app.client.post(url, headers=bob.auth)).json()["counted"] for _ in range(2)] == [
            True,
            False,
        ]
        counts = await app.views(video_id)
        assert counts["views"] == 3 and counts["unique_viewers_today"] == 3
        ttl = await app.services.redis.ttl(f"dedupe:views:seen:{video_id}:u{bob.user_id}")
        assert 55 <= ttl <= 60  # the window: bob's next view after it counts again


async def test_unique_viewers_are_estimated_with_hyperloglog(api: Api) -> None:
    alice = await api.user()
    video_id = await api.video(alice, await api.channel(alice))
    for i in range(300):
        for _ in range(2):  # every viewer twice: views double, unique viewers do not
            await api.client.post(f"/v1/videos/{video_id}/views", headers={"User-Agent": f"device-{i}"})
    counts = await api.views(video_id)
    assert counts["views"] == 600
    assert abs(counts["unique_viewers_today"] - 300) <= 300 * 0.03  # HLL standard error is 0.81%


async def test_flush_lag_is_the_age_of_the_oldest_unflushed_view(api: Api) -> None:
    from api import metrics

    alice = await api.user()
    video_id = await api.video(alice, await api.channel(alice))
    await api.flusher().flush_once()
    await api.services.buffer.refresh_gauges()
    assert metrics.FLUSH_LAG._value.get() == 0
    await api.view(video_id)
    await api.services.buffer.claim("slow-flusher", lease_seconds=30)  # pending, not yet applied
    await api.view(video_id)
    views, batches, oldest = await api.services.buffer.totals()
    assert views >= 2 and batches >= 1 and oldest is not None
    await api.services.buffer.refresh_gauges()
    assert metrics.FLUSH_LAG._value.get() > 0
