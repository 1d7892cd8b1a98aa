"""Jobs through Redis Streams with a consumer group: at-least-once delivery, retries with
exponential backoff, jobs of dead workers reclaimed (XAUTOCLAIM), a dead-letter stream after N
attempts. Handlers must be idempotent: a job may run again after a crash.

Keys (P = prefix): P:jobs (stream, group "workers"), P:jobs:delayed (zset: job -> due time, ms),
P:jobs:dead (stream of jobs that failed N times, with their last error).
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


@dataclass(frozen=True, slots=True)
class Job:
    kind: str  # "transcode" | "delete_blobs"
    video_id: int
    attempt: int = 0
    first_enqueued: float = 0.0  # epoch seconds of the first attempt
    entry_id: str = ""  # stream entry id while delivered
    request_id: str = ""  # of the request that enqueued it (api.logs): the worker logs with it

    def log_fields(self) -> dict[str, object]:
        """What a log line about this job carries (api.logs.JsonFormatter writes them out)."""
        fields: dict[str, object] = {"job": self.kind, "video_id": self.video_id, "attempt": self.attempt + 1}
        return fields | ({"request_id": self.request_id} if self.request_id else {})

    def payload(self) -> str:
        body = {"kind": self.kind, "video_id": self.video_id, "attempt": self.attempt}
        return json.dumps(body | {"first_enqueued": self.first_enqueued, "request_id": self.request_id})

    @classmethod
    def parse(cls, entry_id: Any, fields: dict[Any, Any]) -> Job:
        raw = fields.get(b"job") or fields.get("job") or b"{}"
        data = json.loads(raw)
        return cls(
            kind=str(data["kind"]),
            video_id=int(data["video_id"]),
            attempt=int(data.get("attempt", 0)),
            first_enqueued=float(data.get("first_enqueued", 0.0)),
            entry_id=entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id),
            request_id=str(data.get("request_id") or ""),
        )


class JobQueue:
    def __init__(
        self, client: aioredis.Redis, prefix: str, max_attempts: int, retry_base_seconds: float
    ) -> None:
        self.redis = client
        self.stream, self.delayed, self.dead = (
            f"{prefix}:jobs",
            f"{prefix}:jobs:delayed",
            f"{prefix}:jobs:dead",
        )
        self.max_attempts = max_attempts
        self.retry_base_seconds = retry_base_seconds
        self._promote = client.register_script(_PROMOTE)

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except redis.exceptions.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def enqueue(self, kind: str, video_id: int) -> None:
        job = Job(kind, video_id, 0, time.time(), request_id=REQUEST_ID.get() or "")
        await self.redis.xadd(self.stream, {"job": job.payload()})
        log.info("job %s %s enqueued", kind, video_id, extra=job.log_fields())

    async def read(self, consumer: str, block_ms: int, count: int = 1) -> list[Job]:
        """New jobs for this consumer (they stay pending on it until acked)."""
        reply: Any = await self.redis.xreadgroup(
            GROUP, consumer, {self.stream: ">"}, count=count, block=block_ms
        )
        return [Job.parse(entry_id, fields) for _, entries in reply or [] for entry_id, fields in entries]

    async def reclaim(self, consumer: str, min_idle_seconds: float, count: int = 10) -> list[Job]:
        """Jobs another consumer took and has not acked for min_idle: its worker is presumed dead."""
        reply = await self.redis.xautoclaim(
            self.stream, GROUP, consumer, int(min_idle_seconds * 1000), start_id="0-0", count=count
        )
        return [Job.parse(entry_id, fields) for entry_id, fields in reply[1] if fields]

    async def ack(self, job: Job) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, GROUP, job.entry_id)
            pipe.xdel(self.stream, job.entry_id)
            await pipe.execute()

    async def retry(self, job: Job, error: str) -> bool:
        """Schedule the next attempt with exponential backoff, or dead-letter it after the last one.
        True when it will be retried. Done in one transaction with the ack."""
        again = Job(job.kind, job.video_id, job.attempt + 1, job.first_enqueued, request_id=job.request_id)
        retried = again.attempt < self.max_attempts
        async with self.redis.pipeline(transaction=True) as pipe:
            if retried:
                due = time.time() + self.retry_base_seconds * 2**job.attempt
                pipe.zadd(self.delayed, {again.payload(): int(due * 1000)})
            else:
                pipe.xadd(self.dead, {"job": again.payload(), "error": error[:2000]})
            pipe.xack(self.stream, GROUP, job.entry_id)
            pipe.xdel(self.stream, job.entry_id)
            await pipe.execute()
        return retried

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

    async def dead_letters(self) -> list[tuple[Job, str]]:
        rows: Any = await self.redis.xrange(self.dead)
        out = []
        for entry_id, fields in rows:
            error = bytes(fields.get(b"error", b"")).decode()
            out.append((Job.parse(entry_id, fields), error))
        return out
