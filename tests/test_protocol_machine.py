"""A hypothesis state machine of buffer-and-flush over the real Redis and database: views, flushes,
flushers that die after claiming, after some shards, or after every commit but before the drop,
leases that expire, and flushers racing. Invariant after every step: each video's count (flushed +
buffered) equals the views accepted; at the end, the database alone does."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import Coroutine
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from api.domain.views.flusher import Flusher
from api.wiring import Services
from sharding import group_by_shard
from tests.conftest import base_settings

T = TypeVar("T")


class FlushProtocol(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        tag = secrets.randbelow(2**32)  # not `random`: hypothesis reseeds it per example
        self.services = Services.create(base_settings(redis_prefix=f"machine{tag}"))
        # Counters of made-up videos over many channels (so, over both shards on Vitess).
        self.videos = [(10**12 + tag * 100 + i, 10**12 + tag * 100 + i) for i in range(6)]
        self.accepted: Counter[int] = Counter()
        self.dead: list[tuple[str, str]] = []  # (batch, owner) leased by flushers that died

    def run(self, step: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(step)

    def flusher(self) -> Flusher:
        return Flusher(self.services.db.primary, self.services.buffer, lease_seconds=30)

    @rule(video=st.integers(0, 5), n=st.integers(1, 5))
    def view(self, video: int, n: int) -> None:
        channel_id, video_id = self.videos[video]
        for _ in range(n):
            if self.run(self.services.buffer.record(channel_id, video_id, viewer="v")):
                self.accepted[video_id] += 1

    @rule()
    def flush(self) -> None:
        assert self.run(self.flusher().flush_once()).failed == 0

    @rule()
    def two_flushers_race(self) -> None:
        async def race() -> None:
            await asyncio.gather(self.flusher().flush_once(), self.flusher().flush_once())

        self.run(race())

    @rule(committed=st.sampled_from(["none", "some", "all"]))
    def flusher_dies(self, committed: str) -> None:
        """Claim a batch, commit it on no shard, some shards or all of them, then die (no drop)."""

        async def die() -> None:
            owner = f"dead-{len(self.dead)}"
            batch_id = await self.services.buffer.claim(owner, lease_seconds=30)
            if batch_id is None:
                return
            self.dead.append((batch_id, owner))
            flusher = self.flusher()
            groups = group_by_shard(
                await self.services.buffer.deltas(batch_id), lambda d: d.channel_id, await flusher.shards()
            )
            shards = sorted(groups)
            for shard in shards[: {"none": 0, "some": 1, "all": len(shards)}[committed]]:
                await flusher._apply_shard(batch_id, groups[shard])

        self.run(die())

    @precondition(lambda self: bool(self.dead))
    @rule()
    def leases_expire(self) -> None:
        for batch_id, owner in self.dead:
            self.run(self.services.buffer.release(batch_id, owner))
        self.dead.clear()

    @invariant()
    def counts_equal_views_accepted(self) -> None:
        for channel_id, video_id in self.videos:
            counted = self.run(self.services.views.count_views(channel_id, video_id))
            assert counted.views == self.accepted[video_id], (video_id, counted, self.accepted[video_id])

    def teardown(self) -> None:
        try:
            self.leases_expire() if self.dead else None
            for _ in range(5):
                self.flush()
            for channel_id, video_id in self.videos:
                counted = self.run(self.services.views.count_views(channel_id, video_id))
                assert counted.buffered == 0 and counted.flushed == self.accepted[video_id]
        finally:
            self.run(self.services.close())
            self.loop.close()


FlushProtocol.TestCase.settings = settings(
    max_examples=15, stateful_step_count=30, deadline=None, suppress_health_check=list(HealthCheck)
)
TestFlushProtocol = FlushProtocol.TestCase
