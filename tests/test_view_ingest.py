"""The view route counts every request's rate-limit hit once, whatever way it ends (its script
counts it with the view; a refusal before the script counts it as the middleware would), is timed
by the app's HTTP histogram like any route, and concurrent views share Redis round trips."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import Api, base_settings, report, running


async def script_calls(api: Api) -> int:
    stats = await api.services.redis.info("commandstats")
    return sum(int(stats.get(name, {}).get("calls", 0)) for name in ("cmdstat_evalsha", "cmdstat_eval"))


async def answers(api: Api, prefix: str) -> list[tuple[int, Any, dict[str, str]]]:
    """One client's view POSTs, good and bad, until the rate limit refuses it."""
    alice = await api.user()
    channel_id = await api.channel(alice)
    video_id = await api.video(alice, channel_id)
    settings = base_settings(rate_limit_requests=5, redis_prefix=prefix)
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
        counted = await app.services.views.count_views(channel_id, video_id)
        assert counted.views == 3  # the accepted ones, not the refused
    return out


async def test_every_view_post_counts_one_hit_and_answers_like_any_route(api: Api) -> None:
    got = await answers(api, prefix="ingest-route")
    assert [status for status, _, _ in got] == [401, 202, 202, 404, 400, 202, 429]
    assert [headers["ratelimit-remaining"] for _, _, headers in got[1:6]] == ["4", "3", "2", "1", "0"]
    assert all(headers["content-type"] == "application/json" for _, _, headers in got)
    assert "video_id" in got[4][1]["detail"]
    assert int(got[6][2]["retry-after"]) >= 1  # the refusal: Retry-After and the spent window
    assert got[6][2]["ratelimit-limit"] == "5" and got[6][2]["ratelimit-remaining"] == "0"


async def test_views_and_other_routes_share_one_window(api: Api) -> None:
    """A view and an ordinary GET from one client draw on the same window, one hit each."""
    alice = await api.user()
    video_id = await api.video(alice, await api.channel(alice))
    async with running(base_settings(rate_limit_requests=10, redis_prefix="ingest-shared")) as app:
        remaining = []
        for method, path in [("POST", "views"), ("GET", ""), ("POST", "views"), ("GET", "")] * 2:
            response = await app.client.request(method, f"/v1/videos/{video_id}/{path}".rstrip("/"))
            assert response.status_code in (200, 202), response.text
            remaining.append(int(response.headers["ratelimit-remaining"]))
        limiter = app.services.limiter
        await limiter.window.hit_key("ingest-shared:barrier")  # batches run in order: the GETs' are in
        assert await limiter.window.count("ip:192.0.2.10") == 8  # one hit each, in one window
    # A GET is answered from the count as this process knows it (far below the limit it does not
    # wait): a hit still on its way may already be in a view's answer too, so it can count twice
    # there for a moment, never be missed.
    exact = list(range(9, 1, -1))
    assert all(e - 1 <= r <= e for r, e in zip(remaining, exact, strict=True)), remaining


async def test_the_view_route_is_timed_like_every_route(api: Api) -> None:
    alice = await api.user()
    video_id = await api.video(alice, await api.channel(alice))
    assert (await api.view(video_id)).status_code == 202
    exposition = (await api.client.get("/metrics")).text
    timed = [
        line
        for line in exposition.splitlines()
        if line.startswith("vidstore_http_request_duration_seconds_count")
        and 'method="POST"' in line
        and "/views" in line
    ]
    assert timed and float(timed[0].rsplit(" ", 1)[1]) >= 1, timed


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


async def failed_key_answers(api: Api, prefix: str) -> list[tuple[int, Any, dict[str, str]]]:
    """A guessed key, again and again: 401, then the failed-authentication limit's 429s, until the
    key's own rate-limit window (counted on every request, refused or not) is spent too."""
    alice = await api.user()
    video_id = await api.video(alice, await api.channel(alice))
    settings = base_settings(rate_limit_requests=3, auth_failures_per_window=1, redis_prefix=prefix)
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


async def test_failed_authentications_count_their_hits(api: Api) -> None:
    got = await failed_key_answers(api, prefix="ingest-authfail")
    assert [status for status, _, _ in got] == [401, 429, 429, 429, 429]
    assert "failed authentications" in got[1][1]
    assert "rate limit exceeded" in got[3][1]  # the 4th request is past the key's window of 3
