"""Jobs through Redis Streams with a consumer group: at-least-once delivery, retries with
exponential backoff, a dead-letter stream after N attempts, and leases: a worker holds a job under a
lease it renews by heartbeat, and a job whose worker stopped heartbeating is taken over once the
lease has expired. Handlers must be idempotent: a job may run again after a crash.

Leases. A job's lease is one key per (kind, video): `P:jobs:lease:<kind>:<video_id>` holding
"<worker>|<entry id>" with a TTL of `lease_seconds`. The heartbeat (every lease/5) renews it only
while it still holds this worker's value, and resets the entry's idle time (XCLAIM to itself), so a
live worker's entry never looks idle. Takeover claims entries idle for a whole lease (XCLAIM with
that min-idle: one claimer wins), then sets the lease only if none is held (SET NX semantics):
two workers never hold the same video's transcode. A second entry for a video whose lease another
delivery holds (the outbox relayed it twice) is a duplicate and is dropped, except for the kinds in
RUN_AFTER_DUPLICATES, which read the state they act on when they run: a second entry may come from
a newer change the running one has not read, so it is put back to run after it. Acks and retries check
the lease in the same script, so a worker that lost its lease never acks or re-queues.
Takeover bound: a dead worker's job is taken over within lease_seconds plus one poll (1 s).

Keys (P = prefix): P:jobs (stream, group "workers"), P:jobs:delayed (zset: job -> due time, ms),
P:jobs:dead (stream of jobs that failed N times, with their last error), P:jobs:lease:* (leases).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
import redis.exceptions

from api.logs import REQUEST_ID

GROUP = "workers"
# Kinds whose handler acts on the state it reads when it runs (sync_edges pushes a video's current
# revocation): their second entry runs after the first instead of being dropped.
RUN_AFTER_DUPLICATES = frozenset({"sync_edges"})
RUN_AFTER_SECONDS = 0.5
log = logging.getLogger("vidstore.jobs")

# Move due retries back into the stream, atomically (a retry is never lost or doubled).
_PROMOTE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, job in ipairs(due) do
  redis.call('XADD', KEYS[1], '*', 'job', job)
  redis.call('ZREM', KEYS[2], job)
end
return #due
"""

# Take a job's lease: 1 when taken (or renewed: it is ours already), else the holder's value.
_TAKE = """
local holder = redis.call('GET', KEYS[1])
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return holder
"""

# Heartbeat: renew the lease if still ours, and reset the entry's idle time (it stays ours).
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('XCLAIM', KEYS[2], ARGV[3], ARGV[4], 0, ARGV[5], 'JUSTID')
return 1
"""

# Finish a held job, only while its lease is ours: ack it, and re-queue ("retry") or dead-letter
# ("dead") it in the same step. 0 when the lease was lost (someone else holds the job now).
_FINISH = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
if ARGV[4] == 'retry' then
  redis.call('ZADD', KEYS[3], ARGV[6], ARGV[5])
elseif ARGV[4] == 'dead' then
  redis.call('XADD', KEYS[4], '*', 'job', ARGV[5], 'error', ARGV[7])
end
redis.call('XACK', KEYS[1], ARGV[2], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
redis.call('DEL', KEYS[2])
return 1
"""


@dataclass(frozen=True, slots=True)
class Job:
    kind: str  # "transcode" | "delete_blobs" | "sync_edges"
    video_id: int
    attempt: int = 0
    entry_id: str = ""  # stream entry id while delivered
    request_id: str = ""  # of the request that enqueued it (api.logs): the worker logs with it

    def log_fields(self) -> dict[str, object]:
        """What a log line about this job carries (api.logs.JsonFormatter writes them out)."""
        fields: dict[str, object] = {"job": self.kind, "video_id": self.video_id, "attempt": self.attempt + 1}
        return fields | ({"request_id": self.request_id} if self.request_id else {})

    def payload(self) -> str:
        body = {"kind": self.kind, "video_id": self.video_id, "attempt": self.attempt}
        return json.dumps(body | {"request_id": self.request_id})

    @classmethod
    def parse(cls, entry_id: Any, fields: dict[Any, Any]) -> Job:
        raw = fields.get(b"job") or fields.get("job") or b"{}"
        data = json.loads(raw)
        return cls(
            kind=str(data["kind"]),
            video_id=int(data["video_id"]),
            attempt=int(data.get("attempt", 0)),
            entry_id=entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id),
            request_id=str(data.get("request_id") or ""),
        )


class JobQueue:
    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str,
        max_attempts: int,
        retry_base_seconds: float,
        lease_seconds: float = 10.0,
    ) -> None:
        self.redis = client
        self.stream, self.delayed, self.dead = (
            f"{prefix}:jobs",
            f"{prefix}:jobs:delayed",
            f"{prefix}:jobs:dead",
        )
        self.leases = f"{prefix}:jobs:lease"
        self.max_attempts = max_attempts
        self.retry_base_seconds = retry_base_seconds
        self.lease_ms = int(lease_seconds * 1000)
        self._promote = client.register_script(_PROMOTE)
        self._take = client.register_script(_TAKE)
        self._renew = client.register_script(_RENEW)
        self._finish = client.register_script(_FINISH)

    def lease_key(self, job: Job) -> str:
        return f"{self.leases}:{job.kind}:{job.video_id}"

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except redis.exceptions.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def enqueue(self, kind: str, video_id: int) -> None:
        job = Job(kind, video_id, 0, request_id=REQUEST_ID.get() or "")
        await self.redis.xadd(self.stream, {"job": job.payload()})
        log.info("job %s %s enqueued", kind, video_id, extra=job.log_fields())

    async def read(self, consumer: str, block_ms: int, count: int = 1) -> list[Job]:
        """New jobs for this consumer, each under its lease (they stay pending on it until acked)."""
        reply: Any = await self.redis.xreadgroup(
            GROUP, consumer, {self.stream: ">"}, count=count, block=block_ms
        )
        jobs = [Job.parse(entry_id, fields) for _, entries in reply or [] for entry_id, fields in entries]
        return [job for job in jobs if await self._lease(job, consumer)]

    async def take_over(self, consumer: str, count: int = 10) -> list[Job]:
        """Jobs whose worker stopped heartbeating: idle for a whole lease, and no lease held."""
        pending: Any = await self.redis.xpending_range(
            self.stream, GROUP, min="-", max="+", count=count, idle=self.lease_ms
        )
        jobs = []
        for entry in pending:
            # One claimer wins: claiming resets the idle time the others' XCLAIM requires.
            claimed: Any = await self.redis.xclaim(
                self.stream, GROUP, consumer, self.lease_ms, [entry["message_id"]]
            )
            if not claimed:
                continue
            entry_id, fields = claimed[0]
            if not fields:  # deleted under us (acked by its holder a moment ago)
                await self.redis.xack(self.stream, GROUP, entry_id)
                continue
            job = Job.parse(entry_id, fields)
            if await self._lease(job, consumer):
                jobs.append(job)
        return jobs

    async def _lease(self, job: Job, consumer: str) -> bool:
        """Take the job's lease. When another delivery of the same work holds it, this entry is a
        duplicate and is dropped; when this very entry's lease is still held (its worker is frozen,
        not dead), the entry is left pending for a later takeover."""
        got = await self._take(keys=[self.lease_key(job)], args=[self.holder(job, consumer), self.lease_ms])
        if got == 1:
            return True
        holder = got.decode() if isinstance(got, bytes) else str(got)
        if holder.rpartition("|")[2] != job.entry_id:
            await self.drop(job, rerun=job.kind in RUN_AFTER_DUPLICATES)
        return False

    @staticmethod
    def holder(job: Job, consumer: str) -> str:
        return f"{consumer}|{job.entry_id}"

    async def renew(self, job: Job, consumer: str) -> bool:
        """The heartbeat: False when the lease is no longer this worker's."""
        keys = [self.lease_key(job), self.stream]
        args: list[str | int] = [self.holder(job, consumer), self.lease_ms, GROUP, consumer, job.entry_id]
        return int(await self._renew(keys=keys, args=args)) == 1

    async def drop(self, job: Job, rerun: bool = False) -> None:
        """Remove a duplicate entry (its work is held under another delivery's lease); `rerun`: put
        it back among the delayed jobs, due after RUN_AFTER_SECONDS (in the same transaction)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, GROUP, job.entry_id)
            pipe.xdel(self.stream, job.entry_id)
            if rerun:
                due = int((time.time() + RUN_AFTER_SECONDS) * 1000)
                pipe.zadd(self.delayed, {job.payload(): due})  # the payload carries no entry id
            await pipe.execute()

    async def ack(self, job: Job, consumer: str) -> bool:
        """Done: acked and its lease released. False when the lease had been lost."""
        return await self._end(job, consumer, "ack")

    async def retry(self, job: Job, consumer: str, error: str) -> bool | None:
        """Schedule the next attempt with exponential backoff, or dead-letter it after the last one,
        in one step with the ack. True when it will be retried, False when dead-lettered, None when
        the lease had been lost (the job's new holder decides)."""
        again = Job(job.kind, job.video_id, job.attempt + 1, request_id=job.request_id)
        retried = again.attempt < self.max_attempts
        due = time.time() + self.retry_base_seconds * 2**job.attempt
        mode, extra = ("retry", [int(due * 1000), ""]) if retried else ("dead", [0, error[:2000]])
        if not await self._end(job, consumer, mode, again.payload(), *extra):
            return None
        return retried

    async def _end(self, job: Job, consumer: str, mode: str, payload: str = "", *extra: Any) -> bool:
        keys = [self.stream, self.lease_key(job), self.delayed, self.dead]
        args = [self.holder(job, consumer), GROUP, job.entry_id, mode, payload, *(extra or (0, ""))]
        return int(await self._finish(keys=keys, args=args)) == 1

    async def promote_due(self) -> int:
        return int(await self._promote(keys=[self.stream, self.delayed], args=[int(time.time() * 1000)]))

    async def stats(self) -> tuple[int, int, float | None]:
        """(jobs waiting or in flight, jobs dead-lettered, age in seconds of the oldest job queued)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xlen(self.stream)
            pipe.zcard(self.delayed)
            pipe.xlen(self.dead)
            pipe.xrange(self.stream, count=1)
            length, delayed, dead, first = await pipe.execute()
        oldest = None
        if first:
            oldest = max(0.0, time.time() - int(first[0][0].decode().split("-")[0]) / 1000)
        return int(length) + int(delayed), int(dead), oldest
