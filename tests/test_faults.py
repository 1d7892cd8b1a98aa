"""Faults injected for real, each run ending in reconciliation (database count == views accepted):
a flusher process SIGKILLed at random points (named points before, during and after the commit, and
at random moments), Redis SIGKILLed and restarted, the database connection dropped mid-transaction,
and (on Vitess) one shard's primary down while the other shard keeps flushing."""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from api import faultpoints
from api.domain.views import repositories as view_repo
from sharding.dba import ROOT
from tests.conftest import BACKEND, Api, base_settings, report, running
from tests.live import crashing_at, eventually, start_tablet, stop_tablet
from tests.servers import RedisServer

CRASHES = int(os.environ.get("VIDSTORE_FAULT_CRASHES", "110"))
LEASE_SECONDS = 1  # a dead flusher's batch is retried after this


@dataclass
class World:
    """An app on a private Redis, some videos over both shards, and the views it accepted."""

    api: Api
    redis: RedisServer
    videos: list[tuple[int, int]]  # (channel_id, video_id)
    rng: random.Random
    accepted: Counter[int] = field(default_factory=Counter)

    async def views(self, n: int) -> int:
        """Record n views, Zipf-skewed over the videos; count the ones accepted (202)."""
        weights = [1 / (rank + 1) ** 1.1 for rank in range(len(self.videos))]
        got = 0
        for _, video_id in self.rng.choices(self.videos, weights, k=n):
            status = (await self.api.view(video_id)).status_code
            assert status in (202, 503), status  # never a silent loss: refused, or accepted
            if status == 202:
                self.accepted[video_id] += 1
                got += 1
        return got

    def flusher_env(self, fault: str | None = None) -> dict[str, str]:
        settings = self.api.services.settings
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIDSTORE_CRASH_")}
        env |= {
            "VIDSTORE_REDIS_URL": settings.redis_url,
            "VIDSTORE_REDIS_PREFIX": settings.redis_prefix,
            "VIDSTORE_FLUSH_INTERVAL_SECONDS": "0.05",
            "VIDSTORE_FLUSH_LEASE_SECONDS": str(LEASE_SECONDS),
        }
        return env | (crashing_at(fault) if fault else {})

    async def start_flusher(self, fault: str | None = None) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "api.cli",
            "flush",
            cwd=ROOT,
            env=self.flusher_env(fault),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )

    async def drain(self) -> None:
        """A clean flusher until Redis holds nothing (dead flushers' leases expire first)."""
        flusher = self.api.flusher()

        async def empty() -> bool:  # pending batches wait for their dead flusher's lease to expire
            await flusher.flush_once()
            views, batches, _ = await self.api.services.buffer.totals()
            return views == 0 and batches == 0

        await eventually(empty, 60, "every buffered view to be flushed")

    async def reconcile(self, what: str) -> None:
        await self.drain()
        counted = {}
        async with self.api.services.db.primary.connect() as conn:
            for channel_id, video_id in self.videos:
                counted[video_id] = await view_repo.get_views(conn, channel_id, video_id)
        wrong = {v: (counted[v], self.accepted[v]) for v in counted if counted[v] != self.accepted[v]}
        total = sum(self.accepted.values())
        tally = f"views accepted {total}, views counted {sum(counted.values())}, videos wrong {len(wrong)}"
        report(f"{what}: {tally}")
        assert not wrong, f"(counted, accepted): {wrong}"


@pytest.fixture
async def world() -> AsyncIterator[World]:
    server = RedisServer()
    server.start()
    seed = random.randrange(2**32)
    settings = base_settings(
        redis_url=server.url, redis_prefix=f"faults{seed}", flush_lease_seconds=LEASE_SECONDS
    )
    try:
        async with running(settings) as api:
            owner = await api.user("faults")
            videos = []
            for _ in range(6):
                channel_id = await api.channel(owner)
                for _ in range(3):
                    videos.append((channel_id, await api.video(owner, channel_id)))
            print(f"fault seed {seed}")
            yield World(api, server, videos, random.Random(seed))
    finally:
        server.stop()


async def test_flusher_killed_at_random_points(world: World) -> None:
    kills: Counter[str] = Counter()
    for _ in range(CRASHES):
        if world.rng.random() < 0.7:  # a named point: before, during or after the commit
            where = f"{world.rng.choice(faultpoints.FLUSH_POINTS)}:{world.rng.randint(1, 3)}"
            deadline = time.monotonic() + 15
        else:  # any moment at all
            where = "random moment"
            deadline = time.monotonic() + world.rng.uniform(0.2, 1.5)
        flusher = await world.start_flusher(where if ":" in where else None)
        exited = asyncio.create_task(flusher.wait())
        while not exited.done() and time.monotonic() < deadline:
            await world.views(world.rng.randint(1, 4))  # traffic while the flusher works
            await asyncio.wait({exited}, timeout=0.01)  # and see at once if it died
        if not exited.done():
            flusher.kill()
        await exited
        assert flusher.returncode == -9, f"flusher exited {flusher.returncode} at {where}"
        kills[where.split(":")[0]] += 1
    report(
        f"flusher SIGKILLs: {sum(kills.values())} ({', '.join(f'{k} {n}' for k, n in sorted(kills.items()))})"
    )
    await world.reconcile(f"after {sum(kills.values())} flusher kills")


async def test_redis_killed_and_restarted_under_traffic(world: World) -> None:
    flusher = await world.start_flusher()
    refused = 0
    try:
        for _ in range(5):
            await world.views(world.rng.randint(50, 150))
            world.redis.kill()  # SIGKILL: acknowledged writes are in the AOF file (page cache)
            refused += 20 - await world.views(20)  # Redis down: 503, never a 202 that is lost
            world.redis.start()  # replays the AOF
            await world.views(world.rng.randint(20, 60))
    finally:
        flusher.terminate()
        await flusher.wait()
    assert refused == 100
    report(f"Redis SIGKILLed and restarted 5 times: {refused} views refused with 503 while it was down")
    await world.reconcile("after 5 Redis kills")


async def test_database_connection_dropped_mid_transaction(world: World) -> None:
    dropped = 0

    async def drop(conn: AsyncConnection) -> None:
        nonlocal dropped
        if world.rng.random() < 0.5:
            raw = await conn.get_raw_connection()
            assert raw.driver_connection is not None
            raw.driver_connection.close()  # the socket goes, mid-transaction: the server rolls back
            dropped += 1

    faultpoints.inject("before_commit", drop)
    try:
        flusher = world.api.flusher()
        failed = 0
        for _ in range(40):
            await world.views(world.rng.randint(5, 30))
            failed += (await flusher.flush_once()).failed
    finally:
        faultpoints.inject("before_commit", None)
    assert dropped > 0 and failed == dropped  # every dropped transaction failed, and was retried
    report(f"database connection dropped in {dropped} flush transactions, all retried")
    await world.reconcile(f"after {dropped} dropped connections")


@pytest.mark.skipif(BACKEND != "vitess", reason="one database on MariaDB: no shard can fail alone")
async def test_one_shard_down_while_the_other_keeps_flushing(world: World) -> None:
    from sharding import shard_for, validate_shards

    shards = validate_shards(["-80", "80-"])
    on = {v: shard_for(c, shards) for c, v in world.videos}
    flusher = world.api.flusher()
    await world.views(200)
    await world.drain()
    before = await counts(world)
    await stop_tablet(200)
    try:
        await world.views(300)
        outage = await flusher.flush_once()
        during = await counts(world, [v for v in on if on[v] == "80-"])  # -80 cannot even be read
    finally:
        await start_tablet(200, "vidstore", "-80")
    await eventually(lambda: readable(world), 60, "shard -80 to serve again", every=0.5)
    after = await counts(world, [v for v in on if on[v] == "-80"])
    moved = {
        "80-": sum(during[v] - before[v] for v in during),
        "-80": sum(after[v] - before[v] for v in after),
    }
    assert outage.failed >= 1
    assert moved["-80"] == 0 and moved["80-"] > 0, moved  # 80- flushed; -80 waited for its primary
    report(f"shard -80 down: 80- flushed {moved['80-']} views meanwhile, -80 none; retried after")
    await world.reconcile("after a shard outage")


async def counts(world: World, videos: list[int] | None = None) -> dict[int, int]:
    async with world.api.services.db.primary.connect() as conn:
        return {
            v: await view_repo.get_views(conn, c, v) for c, v in world.videos if videos is None or v in videos
        }


async def readable(world: World) -> bool:
    try:
        await counts(world)
    except DBAPIError:
        return False
    return True
