"""The hot-video cache (hits, one loader under a stampede, write-through) and admission control."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from tests.conftest import Api, base_settings, running
from tests.live import eventually


@contextmanager
def video_reads(api: Api) -> Iterator[list[str]]:
    """SELECTs on the videos table, on either engine, while inside."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("SELECT") and "FROM videos WHERE video_id" in statement:
            seen.append(statement)

    engines = {api.services.db.primary.sync_engine, api.services.db.replica.sync_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


async def test_hot_reads_come_from_the_cache(api: Api) -> None:
    alice = await api.user()
    video_id = await api.video(alice, await api.channel(alice))
    await api.services.videos.cache.invalidate(video_id)
    with video_reads(api) as reads:
        for _ in range(20):
            assert (await api.client.get(f"/v1/videos/{video_id}")).status_code == 200
            assert (await api.view(video_id)).status_code == 202
    assert len(reads) == 1  # one load, 39 hits


async def test_a_stampede_on_a_cold_key_loads_once(api: Api) -> None:
    alice = await api.user()
    video_id = await api.video(alice, await api.channel(alice))
    await api.services.videos.cache.invalidate(video_id)
    with video_reads(api) as reads:
        answers = await asyncio.gather(*(api.client.get(f"/v1/videos/{video_id}") for _ in range(50)))
    assert all(a.status_code == 200 for a in answers)
    assert len(reads) == 1


async def test_writes_go_through_the_cache(api: Api) -> None:
    alice = await api.user()
    video_id = await api.video(alice, await api.channel(alice))
    assert (await api.client.get(f"/v1/videos/{video_id}")).json()["title"] == "v"  # now cached
    await api.client.patch(f"/v1/videos/{video_id}", json={"title": "renamed"}, headers=alice.auth)
    assert (await api.client.get(f"/v1/videos/{video_id}")).json()["title"] == "renamed"
    await api.client.patch(f"/v1/videos/{video_id}", json={"visibility": "private"}, headers=alice.auth)
    assert (await api.client.get(f"/v1/videos/{video_id}")).status_code == 404
    await api.client.delete(f"/v1/videos/{video_id}", headers=alice.auth)
    assert (await api.client.get(f"/v1/videos/{video_id}", headers=alice.auth)).status_code == 404


async def test_overload_is_shed_with_503_but_views_are_admitted() -> None:
    async with running(base_settings(max_in_flight=2, redis_prefix="admission")) as app:
        alice = await app.user()
        video_id = await app.video(alice, await app.channel(alice))
        # Two requests in flight hold the only slots: park them inside the app on a lock.
        gate = asyncio.Event()
        videos = app.services.videos
        original = videos.find
        entered: list[object] = []

        async def slow_find(*args: Any) -> Any:
            entered.append(args)
            await gate.wait()
            return await original(*args)

        async def inside(n: int) -> bool:
            return len(entered) >= n

        videos.find = slow_find  # type: ignore[method-assign,assignment]
        try:
            parked = [asyncio.create_task(app.client.get(f"/v1/videos/{video_id}")) for _ in range(2)]
            await eventually(lambda: inside(2), 5, "two requests parked inside the app", every=0.01)
            shed = await app.client.get(f"/v1/channels/{2**62}")
            assert shed.status_code == 503 and shed.headers["Retry-After"] == "1"
            assert shed.json()["detail"] == "overloaded, retry shortly"
            assert (await app.client.get("/health/live")).status_code == 200
            view = asyncio.create_task(app.view(video_id))  # admitted although full: it gets in
            await eventually(lambda: inside(3), 5, "the view admitted past the limit", every=0.01)
            assert not view.done()
            gate.set()
            assert (await view).status_code == 202
            assert [(await p).status_code for p in parked] == [200, 200]
        finally:
            videos.find = original  # type: ignore[method-assign]
            gate.set()
        assert (await app.client.get(f"/v1/channels/{2**62}")).status_code == 404  # room again


async def test_a_burst_larger_than_the_redis_pool_waits_for_connections(api: Api) -> None:
    """300 views at once through 64 Redis connections: every one accepted (redis-py's default pool
    would refuse past 100 with MaxConnectionsError, a 503)."""
    alice = await api.user()
    video_id = await api.video(alice, await api.channel(alice))
    before = (await api.views(video_id))["views"]
    answers = await asyncio.gather(*(api.view(video_id) for _ in range(300)))
    assert [a.status_code for a in answers] == [202] * 300
    assert (await api.views(video_id))["views"] == before + 300


async def test_another_process_sees_a_write_within_the_local_ttl(api: Api) -> None:
    """Each process keeps hot metadata for a second in memory; a write made through another
    process reaches it within that second (here: two app instances over one Redis)."""
    from api.domain.videos.cache import LOCAL_TTL_SECONDS

    alice = await api.user()
    video_id = await api.video(alice, await api.channel(alice))
    async with running(api.services.settings) as other:
        assert (await other.client.get(f"/v1/videos/{video_id}")).json()["title"] == "v"  # cached there
        await api.client.patch(f"/v1/videos/{video_id}", json={"title": "new"}, headers=alice.auth)
        assert (await api.client.get(f"/v1/videos/{video_id}")).json()[
            "title"
        ] == "new"  # the writer: at once

        async def other_sees_it() -> bool:
            return bool((await other.client.get(f"/v1/videos/{video_id}")).json()["title"] == "new")

        await eventually(
            other_sees_it, LOCAL_TTL_SECONDS + 0.5, "the other process to see the write", every=0.05
        )
