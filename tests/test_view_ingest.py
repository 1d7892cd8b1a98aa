"""The view fast path (api.view_fast_path) answers exactly as the Litestar route does, and
concurrent views share Redis round trips (one script call counts the view and the rate-limit hit)."""

from __future__ import annotations

import asyncio
from typing import Any

from api.domain.views.services import count_views
from tests.conftest import Api, base_settings, report, running


async def script_calls(api: Api) -> int:
    stats = await api.state.redis.info("commandstats")
    return sum(int(stats.get(name, {}).get("calls", 0)) for name in ("cmdstat_evalsha", "cmdstat_eval"))


async def answers(api: Api, fast_path: bool, prefix: str) -> list[tuple[int, Any, dict[str, str]]]:
    """One client's view POSTs, good and bad, until the rate limit refuses it."""
    alice = await api.user()
    channel_id = await api.channel(alice)
    video_id = await api.video(alice, channel_id)
    settings = base_settings(rate_limit_requests=5, redis_prefix=prefix, view_fast_path=fast_path)
    wanted = ("ratelimit-limit", "ratelimit-remaining", "retry-after", "content-type")
    out = []
    async with running(settings) as app:
        for path, headers in (
            # A bearer key is its own rate-limit identity (refused or not); the rest share the address.
            (f"/v1/videos/{video_id}/views", {"Authorization": "Bearer nope"}),
            (f"/v1/videos/{video_id}/views", {}),
            (f"/v1/videos/{video_id}/views", {}),
            (f"/v1/videos/{2**62}/views", {}),
            ("/v1/videos/0/views", {}),
            (f"/v1/videos/{video_id}/views", {}),
            (f"/v1/videos/{video_id}/views", {}),
        ):
            response = await app.client.post(path, headers=headers)
            body = response.json()
            body.pop("video_id", None)
            out.append(
                (response.status_code, body, {k: v for k, v in response.headers.items() if k in wanted})
            )
        counted = await count_views(app.state, channel_id, video_id)
        assert counted.views == 3  # the accepted ones, not the refused
    return out


async def test_the_fast_path_answers_as_the_router_does(api: Api) -> None:
    fast = await answers(api, fast_path=True, prefix="ingest-fast")
    routed = await answers(api, fast_path=False, prefix="ingest-routed")
    assert [status for status, _, _ in fast] == [401, 202, 202, 404, 400, 202, 429]
    assert fast == routed
    assert [headers["ratelimit-remaining"] for _, _, headers in fast[1:6]] == ["4", "3", "2", "1", "0"]
    assert "video_id" in fast[4][1]["detail"]
    assert int(fast[6][2]["retry-after"]) >= 1  # the refusal: Retry-After and the spent window
    assert fast[6][2]["ratelimit-limit"] == "5" and fast[6][2]["ratelimit-remaining"] == "0"


async def test_concurrent_views_share_redis_round_trips(api: Api) -> None:
    alice = await api.user()
    video_id = await api.video(alice, await api.channel(alice))
    before = await script_calls(api)
    responses = await asyncio.gather(*(api.view(video_id) for _ in range(200)))
    calls = await script_calls(api) - before
    assert [r.status_code for r in responses] == [202] * 200
    assert (await api.views(video_id))["views"] == 200
    # Each view alone would be one script call (view and rate-limit hit together); batched, far fewer.
    assert calls <= 40, calls
    report(f"200 concurrent views -> {calls} Redis script calls (unbatched: 200)")
