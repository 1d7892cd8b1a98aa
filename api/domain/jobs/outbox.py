"""The transactional outbox: a state change that makes work (an upload completed -> transcode; a
video deleted -> delete its blobs) writes its intent in its own single-shard transaction
(`repositories.add`), so the database and the job stream cannot disagree for good:

1. the change and its intent commit together, or neither does;
2. right after the commit, `publish` enqueues the job and deletes the intent (the fast path);
3. a crash or a Redis error between the commit and the delete leaves the intent; the relay (run
   by every worker, `relay`) enqueues intents older than RELAY_AFTER_SECONDS and deletes them.

A crash between the enqueue and the delete enqueues the job twice: the queue's leases run one of
the two and drop the other, and the handlers are idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis.exceptions
from sqlalchemy.exc import DBAPIError

from api import faultpoints
from api.db import Database
from api.domain.jobs import repositories as repo
from api.domain.jobs.queue import JobQueue
from api.domain.jobs.repositories import Intent

log = logging.getLogger("vidstore.outbox")

__all__ = ["RELAY_AFTER_SECONDS", "Outbox"]

# Intents older than this are the relay's: the fast path has crashed or failed by then.
RELAY_AFTER_SECONDS = 3.0


class Outbox:
    def __init__(self, db: Database, jobs: JobQueue) -> None:
        self.db, self.jobs = db, jobs

    async def publish(self, intent: Intent) -> None:
        """After the intent's commit: enqueue it and delete it. Best effort: whatever fails here, the
        relay does later (the caller's change is committed and its intent with it)."""
        await faultpoints.reached("outbox_committed")
        try:
            await self.jobs.enqueue(intent.kind, intent.video_id)
            await faultpoints.reached("job_enqueued")
            async with self.db.primary.begin() as conn:
                await repo.remove(conn, intent)
        except (redis.exceptions.RedisError, DBAPIError, OSError) as exc:
            log.warning("outbox: %s of video %d left to the relay: %r", intent.kind, intent.video_id, exc)

    async def relay_once(self, older_than: float = RELAY_AFTER_SECONDS, limit: int = 100) -> int:
        """Enqueue the intents left behind, then delete them; returns how many."""
        async with self.db.primary.connect() as conn:
            intents = await repo.older_than(conn, older_than, limit)
        for intent in intents:
            await self.jobs.enqueue(intent.kind, intent.video_id)
            await faultpoints.reached("job_enqueued")
            async with self.db.primary.begin() as conn:
                await repo.remove(conn, intent)
        if intents:
            log.info("outbox relay enqueued %d jobs left behind", len(intents))
        return len(intents)

    async def relay(self, stop: asyncio.Event, every: float = 1.0) -> None:
        while not stop.is_set():
            try:
                await self.relay_once()
            except Exception:  # outlives outages of the database and Redis
                log.exception("outbox relay pass failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)
