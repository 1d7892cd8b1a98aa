"""Hypothesis properties over the real stack: pagination under concurrent inserts, and view counts
that equal the views accepted, whatever the interleaving of views, flushes and crashed flushes."""

from __future__ import annotations

from typing import cast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Api

SLOW = settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))


@SLOW
@given(
    initial=st.integers(0, 25),
    limits=st.lists(st.integers(1, 7), min_size=1, max_size=30),
    inserts=st.lists(st.integers(0, 3), min_size=1, max_size=30),
)
async def test_pages_hold_each_video_once_in_order_while_inserts_happen(
    api: Api, initial: int, limits: list[int], inserts: list[int]
) -> None:
    alice = await api.user()
    channel_id = await api.channel(alice)
    existing = [await api.video(alice, channel_id) for _ in range(initial)]
    seen: list[int] = []
    cursor = None
    for step in range(10_000):
        params: dict[str, str | int] = {"limit": limits[step % len(limits)]}
        if cursor:
            params["cursor"] = cursor
        page = (await api.client.get(f"/v1/channels/{channel_id}/videos", params=params)).json()
        assert len(page["items"]) <= cast(int, params["limit"])
        seen += [v["video_id"] for v in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        for _ in range(inserts[step % len(inserts)]):  # new videos arrive while the client scrolls
            await api.video(alice, channel_id)
    assert seen == sorted(existing, reverse=True)  # each once, newest first; newer ones start a new scroll


# Operations: ("view", video index) | ("flush",) | ("crash", video index): a flusher claims a batch,
# commits it, and dies before dropping it (the replay must count nothing twice).
operation = st.one_of(
    st.tuples(st.just("view"), st.integers(0, 4)),
    st.tuples(st.just("flush")),
    st.tuples(st.just("crash")),
)


@SLOW
@given(ops=st.lists(operation, min_size=1, max_size=60), finer_map=st.booleans())
async def test_counts_equal_views_accepted(api: Api, ops: list[tuple[object, ...]], finer_map: bool) -> None:
    alice = await api.user()
    channels = [await api.channel(alice) for _ in range(3)]
    videos = [await api.video(alice, channels[i % 3]) for i in range(5)]
    accepted = dict.fromkeys(videos, 0)
    # The cluster's own shard map, or one finer than it (each group is then still single-shard).
    flusher = api.flusher(("-40", "40-80", "80-c0", "c0-") if finer_map else None)
    buffer = api.services.buffer
    for op in ops:
        if op[0] == "view":
            video_id = videos[int(str(op[1]))]
            if (await api.view(video_id)).status_code == 202:
                accepted[video_id] += 1
        elif op[0] == "flush":
            assert (await flusher.flush_once()).failed == 0
        else:
            batch_id = await buffer.claim("doomed", lease_seconds=30)
            if batch_id is not None:
                await flusher._apply(batch_id, await flusher.shards())  # all shards commit ...
                await buffer.release(batch_id, "doomed")
        for video_id, expected in accepted.items():  # reads never double-count a pending batch
            assert (await api.views(video_id))["views"] == expected
    await flusher.flush_once()
    for video_id, expected in accepted.items():
        counts = await api.views(video_id)
        assert counts["flushed"] == expected and counts["buffered"] == 0
