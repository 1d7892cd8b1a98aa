"""Rate limits shared through Redis, readiness with a dependency down, and the metrics endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine
from typing import Any

import pytest
import redis.asyncio as aioredis

from api.ratelimit import FixedWindow, RateLimiter
from api.settings import Settings
from loadtest.serving import free_port
from tests.conftest import Api, base_settings, running


async def test_rate_limit_is_per_key_and_shared_by_workers(api: Api) -> None:
    alice, bob = await api.user(), await api.user()
    limited = base_settings(rate_limit_requests=4, redis_prefix="rl-test")
    # Two app instances stand for two worker processes sharing one Redis.
    async with running(limited) as one, running(limited) as two:
        statuses = []
        for worker in (one, two, one, two):
            response = await worker.client.get("/v1/me", headers=alice.auth)
            statuses.append(response.status_code)
            assert response.headers["RateLimit-Limit"] == "4"
        assert statuses == [200] * 4
        refused = await two.client.get("/v1/me", headers=alice.auth)
        assert refused.status_code == 429
        assert refused.json()["status_code"] == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= limited.rate_limit_window_seconds
        assert refused.headers["RateLimit-Limit"] == "4" and refused.headers["RateLimit-Remaining"] == "0"
        assert int(refused.headers["RateLimit-Reset"]) <= limited.rate_limit_window_seconds
        assert (await one.client.get("/v1/me", headers=bob.auth)).status_code == 200  # bob has his own budget
        assert (await one.client.get("/health/live")).status_code == 200  # probes are never limited


@pytest.fixture
async def redis_client(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


def answered_at_once(call: Coroutine[Any, Any, tuple[int, float]]) -> tuple[int, float] | None:
    """The call's answer if it came without waiting for anything (no Redis round trip), else None
    (the call is then closed: its hit may still be counted by a batch already queued)."""
    try:
        call.send(None)
    except StopIteration as done:
        answer: tuple[int, float] = done.value
        return answer
    call.close()
    return None


async def test_hits_far_below_the_limit_do_not_wait_and_the_overshoot_is_one_round_trip(
    redis_client: aioredis.Redis,
) -> None:
    """Two limiters on one Redis stand for two processes (limit 20: the last 2 hits always wait).
    A caller this process has counted is answered at once far below the limit; when other processes'
    hits (here one INCRBY) push the caller to the limit meanwhile, this process admits one more,
    learns the true count from that hit's answer, and refuses from then on."""
    prefix, caller = "rl-optimistic", "ip:192.0.2.77"
    a = RateLimiter(FixedWindow(redis_client, prefix, 60), 20, 60)
    hits, reset = await a.hit(caller)  # first sight: waits for Redis
    assert hits == 1 and 59 <= reset <= 60
    stale = answered_at_once(a.hit(caller))
    assert stale is not None and stale[0] == 2  # no round trip: counted in the next batch
    await a.window.hit_key(f"{prefix}:barrier")  # batches run in order: the one before is answered
    assert await a.window.count(caller) == 2

    await redis_client.incrby(f"{prefix}:{caller}", 18)  # another process's 18 hits: 20, the limit
    over = answered_at_once(a.hit(caller))
    assert over is not None and over[0] == 3  # still far below, as far as this process knows
    await a.window.hit_key(f"{prefix}:barrier")
    refused = await a.hit(caller)  # the answer told it 21: every hit now waits, and is refused
    assert refused[0] == 22 > a.limit

    b = RateLimiter(FixedWindow(redis_client, prefix, 60), 20, 60)
    assert answered_at_once(b.hit("ip:192.0.2.78")) is None  # a caller never seen waits


async def test_hits_within_the_margin_wait_for_redis(redis_client: aioredis.Redis) -> None:
    limiter = RateLimiter(FixedWindow(redis_client, "rl-margin", 60), 20, 60)
    assert limiter.margin == 2
    caller = "ip:192.0.2.79"
    assert (await limiter.hit(caller))[0] == 1
    counts = [answered_at_once(limiter.hit(caller)) for _ in range(17)]
    assert [c[0] if c else None for c in counts] == list(range(2, 19))  # up to limit - margin
    assert answered_at_once(limiter.hit(caller)) is None  # the 19th waits
    await limiter.window.hit_key("rl-margin:barrier")
    assert [(await limiter.hit(caller))[0] for _ in range(3)] == [20, 21, 22]


async def test_anonymous_callers_are_limited_by_address() -> None:
    async with running(base_settings(rate_limit_requests=2, redis_prefix="rl-anon")) as app:
        codes = [(await app.client.get(f"/v1/channels/{2**62}")).status_code for _ in range(3)]
        assert codes == [404, 404, 429]


async def test_failed_authentications_are_limited_but_never_refuse_a_valid_key(api: Api) -> None:
    """Failures are counted per address and per the user id a key names; past the limit a failure is
    429 (with the window's headers), while a valid key, even one never seen from that address, works."""
    alice, bob = await api.user(), await api.user()
    async with running(base_settings(auth_failures_per_window=3, redis_prefix="authfail")) as app:
        guesses = [f"Bearer vs_{bob.user_id}_{chr(65 + i) * 43}" for i in range(4)]
        codes = [(await app.client.get("/v1/me", headers={"Authorization": g})).status_code for g in guesses]
        assert codes == [401, 401, 401, 429]
        blocked = await app.client.get("/v1/me", headers={"Authorization": f"Bearer vs_1_{'Z' * 43}"})
        assert blocked.status_code == 429
        assert blocked.headers["RateLimit-Limit"] == "3" and blocked.headers["RateLimit-Remaining"] == "0"
        assert 1 <= int(blocked.headers["Retry-After"]) <= int(blocked.headers["RateLimit-Reset"]) + 1
        for caller in (alice, bob):  # bob's own id was the one guessed at
            assert (await app.client.get("/v1/me", headers=caller.auth)).json()["user_id"] == caller.user_id


async def test_readiness_reports_each_dependency(api: Api) -> None:
    ready = await api.client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}
    assert (await api.client.get("/health/live")).json() == {"status": "ok"}


async def test_redis_down_means_503_not_lost_views(api: Api) -> None:
    alice = await api.user()
    video_id = await api.video(alice, await api.channel(alice))
    no_redis = base_settings(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    async with running(no_redis) as app:
        ready = await app.client.get("/health/ready")
        assert ready.status_code == 503
        assert (
            ready.json()["checks"]["redis"].startswith("down") and ready.json()["checks"]["database"] == "ok"
        )
        view = await app.client.post(f"/v1/videos/{video_id}/views")
        assert view.status_code == 503 and view.headers["Retry-After"]
        assert "redis" in view.json()["detail"]
        assert (await app.client.get(f"/v1/videos/{video_id}")).status_code == 200  # reads still work
        counts = await app.client.get(f"/v1/videos/{video_id}/views")
        assert counts.status_code == 200
        assert counts.json() | {"video_id": 0} == {
            "video_id": 0,
            "views": 0,
            "flushed": 0,
            "buffered": None,
            "unique_viewers_today": None,
            "complete": False,
        }


async def test_database_down_means_503(api: Api) -> None:
    url = api.services.settings.database_url
    dead = url.replace(url.split("@", 1)[1].split("/", 1)[0], f"127.0.0.1:{free_port()}")
    async with running(base_settings(database_url=dead, replica_database_url=dead)) as app:
        ready = await app.client.get("/health/ready")
        assert ready.status_code == 503 and ready.json()["checks"]["database"].startswith("down")
        response = await app.client.get("/v1/channels/1")
        assert response.status_code == 503 and response.headers["Retry-After"]


async def test_metrics_expose_latency_by_route_and_buffered_views(api: Api) -> None:
    alice = await api.user()
    video_id = await api.video(alice, await api.channel(alice))
    await api.view(video_id)
    await api.client.get(f"/v1/videos/{video_id}")
    text = (await api.client.get("/metrics")).text
    assert "vidstore_http_request_duration_seconds_bucket{" in text
    assert 'path="/v1/videos/{video_id}"' in text  # grouped by route, not by id
    buffered = [line for line in text.splitlines() if line.startswith("vidstore_buffered_views ")]
    assert buffered and float(buffered[0].split()[1]) >= 1
    assert "vidstore_flush_shard_batches_total" in text


async def test_a_verified_key_is_not_looked_up_again_and_a_wrong_one_still_fails(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.domain.users import repositories

    alice = await api.user()
    lookups: list[int] = []
    original = repositories.get_with_hash

    async def counted(conn: Any, user_id: int) -> Any:
        lookups.append(user_id)
        return await original(conn, user_id)

    monkeypatch.setattr(repositories, "get_with_hash", counted)
    for _ in range(3):
        assert (await api.client.get("/v1/me", headers=alice.auth)).status_code == 200
    assert lookups.count(alice.user_id) == 1  # the first request looked the key up; the others did not
    forged = {"Authorization": f"Bearer vs_{alice.user_id}_{'B' * 43}"}  # right user, wrong secret
    assert (await api.client.get("/v1/me", headers=forged)).status_code == 401
