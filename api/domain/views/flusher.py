"""Moves buffered views from Redis into the database with exactly-once effect.

Protocol (see README, "View counting"):
 1. claim    live hash -> pending batch <uuid>, atomically (Lua), leased to this flusher;
 2. apply    per shard, one transaction: INSERT flush_log(channel_id, batch) rows, then the
             counter upserts. A duplicate flush_log key means that shard already committed this
             batch (a replay after a crash): roll back and skip it;
 3. drop     only when every shard committed, delete the pending batch.
A crash anywhere leaves the batch pending; it is applied again later and the log makes that a no-op
on shards that had committed. Several flushers may run: leases spread the work, and a race on the
same batch is settled by the flush_log primary key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from api import faultpoints, metrics
from api.db import ER_DUP_ENTRY, cluster_shards, mysql_error_code, on_shard
from api.domain.views import repositories as repo
from api.domain.views.buffer import Delta, ViewBuffer
from sharding import KeyRange, group_by_shard, validate_shards

log = logging.getLogger("vidstore.flusher")

# Replay records are kept this long, and always longer than the oldest pending batch.
LOG_RETENTION = timedelta(hours=24)


@dataclass
class FlushReport:
    applied: int = 0  # shard transactions committed
    replayed: int = 0  # shard transactions skipped: already committed earlier
    failed: int = 0  # shard transactions that failed (retried on a later pass)
    views: int = 0
    rows: int = 0
    statements: int = 0
    batches_done: list[str] = field(default_factory=list)

    def add(self, other: FlushReport) -> None:
        self.applied += other.applied
        self.replayed += other.replayed
        self.failed += other.failed
        self.views += other.views
        self.rows += other.rows
        self.statements += other.statements
        self.batches_done += other.batches_done


class Flusher:
    def __init__(
        self,
        engine: AsyncEngine,
        buffer: ViewBuffer,
        lease_seconds: int,
        shards: Sequence[str] | None = None,
    ) -> None:
        """`shards`: a fixed shard map; by default it is read from the cluster on every pass, so a
        reshard is followed (a batch grouped by a stale map is refused by vtgate and retried)."""
        self.engine = engine
        self.buffer = buffer
        self.fixed_shards = validate_shards(shards) if shards else None
        self.lease_seconds = lease_seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"

    async def shards(self) -> list[KeyRange]:
        return self.fixed_shards or validate_shards(await cluster_shards(self.engine))

    async def flush_once(self) -> FlushReport:
        """Retry pending batches no live flusher holds, then claim and apply the live counters."""
        report = FlushReport()
        started = time.perf_counter()
        shards = await self.shards()
        for batch_id, _claimed_at in await self.buffer.pending():
            if await self.buffer.lease(batch_id, self.owner, self.lease_seconds):
                report.add(await self._apply(batch_id, shards))
        claimed = await self.buffer.claim(self.owner, self.lease_seconds)
        if claimed is not None:
            await faultpoints.reached("claimed")
            report.add(await self._apply(claimed, shards))
        metrics.FLUSH_DURATION.observe(time.perf_counter() - started)
        return report

    async def _apply(self, batch_id: str, shards: Sequence[KeyRange]) -> FlushReport:
        """Apply one leased batch shard by shard; drop it only if every shard has it."""
        report = FlushReport()
        try:
            deltas = await self.buffer.deltas(batch_id)
            metrics.BATCH_VIEWS.observe(sum(d.views for d in deltas))
            metrics.BATCH_ROWS.observe(len(deltas))
            groups = group_by_shard(deltas, lambda d: d.channel_id, shards)
            for shard, shard_deltas in sorted(groups.items()):
                try:
                    report.add(await self._apply_shard(batch_id, shard_deltas))
                except DBAPIError as exc:
                    report.failed += 1
                    metrics.FLUSH_FAILURES.labels(shard=shard).inc()
                    metrics.FLUSH_BATCHES.labels(result="failed").inc()
                    log.warning("batch %s shard %s failed, will retry: %r", batch_id, shard, exc)
            if report.failed == 0:
                await faultpoints.reached("before_drop")
                await self.buffer.drop(batch_id)
                await faultpoints.reached("dropped")
                report.batches_done.append(batch_id)
        finally:
            await self.buffer.release(batch_id, self.owner)
        return report

    async def _apply_shard(self, batch_id: str, deltas: list[Delta]) -> FlushReport:
        try:
            return await self._commit(batch_id, deltas, skip_logged=False)
        except IntegrityError as exc:
            if mysql_error_code(exc) != ER_DUP_ENTRY:
                raise
        # A replay, or a group joined by a shard merge from old shards of which only some committed
        # this batch: apply what no flush_log row covers yet (a second duplicate means a concurrent
        # flusher got there first; this shard fails and the next pass sorts it out).
        return await self._commit(batch_id, deltas, skip_logged=True)

    async def _commit(self, batch_id: str, deltas: list[Delta], skip_logged: bool) -> FlushReport:
        async with self.engine.begin() as conn:
            if skip_logged:
                logged = await repo.logged_channels(conn, batch_id, sorted({d.channel_id for d in deltas}))
                deltas = [d for d in deltas if d.channel_id not in logged]
                if not deltas:
                    metrics.FLUSH_BATCHES.labels(result="replayed").inc()
                    return FlushReport(replayed=1, statements=1)
            channel_ids = sorted({d.channel_id for d in deltas})
            statements = await repo.log_batch(conn, batch_id, channel_ids, datetime.now(UTC))
            statements += await repo.add_views(conn, deltas)
            await faultpoints.reached("before_commit", conn)
        await faultpoints.reached("after_commit")
        views = sum(d.views for d in deltas)
        metrics.FLUSH_BATCHES.labels(result="applied").inc()
        metrics.FLUSH_VIEWS.inc(views)
        metrics.FLUSH_ROWS.inc(len(deltas))
        metrics.FLUSH_STATEMENTS.inc(statements)
        return FlushReport(applied=1, views=views, rows=len(deltas), statements=statements)

    async def prune(self) -> int:
        """Drop replay records that no pending batch can need any more."""
        cutoff = datetime.now(UTC) - LOG_RETENTION
        pending = await self.buffer.pending()
        if pending:
            cutoff = min(cutoff, datetime.fromtimestamp(pending[0][1], UTC) - timedelta(minutes=5))
        removed = 0
        for shard in await self.shards():
            async with on_shard(self.engine, shard.name) as conn:
                removed += await repo.prune_log(conn, cutoff)
        return removed

    async def run(self, interval: float, stop: asyncio.Event, prune_every: float = 60.0) -> None:
        """Flush every `interval` seconds until `stop` is set; errors are logged and retried."""
        next_prune = time.monotonic() + prune_every
        while not stop.is_set():
            try:
                report = await self.flush_once()
                await self.buffer.refresh_gauges()
                if report.views or report.failed or report.replayed:
                    log.info("flushed %s", report)
                if time.monotonic() >= next_prune:
                    next_prune = time.monotonic() + prune_every
                    await self.prune()
            except Exception:  # a flusher must outlive Redis/database outages
                log.exception("flush pass failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
