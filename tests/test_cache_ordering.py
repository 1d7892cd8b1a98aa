"""The video cache never stores a row older than one already written: the race the issue found
(an expired entry refilled by an anonymous GET while the owner PATCHes), forced step by step."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from api.domain.videos.schemas import Video
from tests.conftest import Api, running


@pytest.mark.parametrize("write", ["patch", "delete"])
async def test_a_slow_refill_loses_to_a_newer_write(api: Api, write: str) -> None:
    alice = await api.user()
    video_id = await api.video(alice, await api.channel(alice))
    cache = api.services.videos.cache
    await cache.invalidate(video_id)  # the entry has expired
    held, release = asyncio.Event(), asyncio.Event()
    original_put = cache.put

    async def gated_put(vid: int, video: Video | None) -> None:
        if vid == video_id and video is not None and video.title == "v" and not held.is_set():
            held.set()  # the refill has read the old row: hold it before it writes the cache
            await release.wait()
        await original_put(vid, video)

    cache.put = cast(Any, gated_put)  # type: ignore[method-assign]
    try:
        refill = asyncio.create_task(api.client.get(f"/v1/videos/{video_id}"))  # anonymous: cached
        await asyncio.wait_for(held.wait(), 10)
        if write == "patch":
            answer = await api.client.patch(
                f"/v1/videos/{video_id}", json={"title": "new"}, headers=alice.auth
            )
            assert answer.status_code == 200 and answer.json()["title"] == "new"
        else:
            answer = await api.client.delete(f"/v1/videos/{video_id}", headers=alice.auth)
            assert answer.status_code == 204
        release.set()
        assert (await refill).json()["title"] == "v"  # it read before the write: fine to answer
    finally:
        cache.put = original_put  # type: ignore[method-assign]
        release.set()
    await api.settled()
    # What every process now reads from Redis (another app instance: no local copy of its own).
    async with running(api.services.settings) as other:
        seen: Any = await other.client.get(f"/v1/videos/{video_id}")
    if write == "patch":
        assert seen.status_code == 200 and seen.json()["title"] == "new", seen.text
    else:
        assert seen.status_code == 404, seen.text
    mine = await api.client.get(f"/v1/videos/{video_id}")  # and this process, after its refused write
    assert mine.status_code == seen.status_code and mine.text == seen.text
