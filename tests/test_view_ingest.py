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


async def failed_key_answers(api: Api, fast_path: bool, prefix: str) -> list[tuple[int, Any, dict[str, str]]]:
    """A guessed key, again and again: 401, then the failed-authentication limit's 429s, until the
    key's own rate-limit window (counted on every request, refused or not) is spent too."""
    alice = await api.user()
    video_id = await api.video(alice, await api.channel(alice))
    settings = base_settings(
        rate_limit_requests=3, auth_failures_per_window=1, redis_prefix=prefix, view_fast_path=fast_path
    )
    wanted = ("ratelimit-limit", "ratelimit-remaining", "retry-after")
    out = []
    async with running(settings) as app:
        for _ in range(5):
            response = await app.client.post(
                f"/v1/videos/{video_id}/views", headers={"Authorization": "Bearer vs_1_guessed"}
            )
            headers = {k: v for k, v in response.headers.items() if k in wanted}
            out.append((response.status_code, response.json()["detail"], headers))
    return out


async def test_failed_authentications_are_counted_alike_both_ways(api: Api) -> None:
    fast = await failed_key_answers(api, fast_path=True, prefix="ingest-authfail-fast")
    routed = await failed_key_answers(api, fast_path=False, prefix="ingest-authfail-routed")
    assert [status for status, _, _ in fast] == [401, 429, 429, 429, 429]
    assert fast == routed
    assert "failed authentications" in fast[1][1]
    assert "rate limit exceeded" in fast[3][1]  # the 4th request is past the key's window of 3
