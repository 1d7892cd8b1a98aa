"""The processing worker: takes jobs from the queue and runs their idempotent handlers.

transcode: source upload -> probe -> HLS (two renditions + master) and thumbnail under
           videos/{id}/ -> the video `ready` with its duration (one single-shard write), or
           `failed` with the reason when the upload is not a playable video.
delete_blobs: everything under uploads/{id}/ and videos/{id}/.
Transient errors (storage, database, Redis) are retried with backoff; after the last attempt the job
goes to the dead-letter stream and, for a transcode, the video is marked failed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import tempfile
import time
from pathlib import Path

from prometheus_client import Counter, Gauge, Histogram

from api import storage
from api.domain.processing import media
from api.domain.processing.queue import Job
from api.domain.videos import repositories as video_repo
from api.domain.videos import services as videos
from api.logs import REQUEST_ID
from api.state import AppState

log = logging.getLogger("vidstore.worker")

JOBS = Counter("vidstore_jobs_total", "Jobs handled, by kind and result", ["kind", "result"])
QUEUE_DEPTH = Gauge("vidstore_job_queue_depth", "Jobs waiting, delayed for retry or in flight")
QUEUE_AGE = Gauge("vidstore_job_queue_oldest_seconds", "Age of the oldest job in the queue")
DEAD = Gauge("vidstore_job_dead_letters", "Jobs in the dead-letter stream")
DURATION = Histogram("vidstore_job_duration_seconds", "Time to handle a job", ["kind"])

CONTENT_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t", ".jpg": "image/jpeg"}


def _transcode(state: AppState, video_id: int, workdir: Path) -> tuple[media.Probe, str, str]:
    """The blocking part: download, probe, transcode, upload. Returns (probe, manifest, thumbnail)."""
    source = workdir / "source"
    state.store.download(storage.source_key(video_id), str(source))
    probe = media.probe(source)
    prefix = storage.video_prefix(video_id)
    for path in media.transcode(source, workdir / "hls", probe):
        key = prefix + "hls/" + path.relative_to(workdir / "hls").as_posix()
        state.store.upload(str(path), key, CONTENT_TYPES.get(path.suffix, "application/octet-stream"))
    thumb = media.thumbnail(source, workdir / "thumb.jpg", probe)
    state.store.upload(str(thumb), prefix + "thumb.jpg", "image/jpeg")
    return probe, storage.manifest_key(video_id), prefix + "thumb.jpg"


async def transcode(state: AppState, job: Job) -> None:
    async with state.db.primary.connect() as conn:
        video = await video_repo.get(conn, job.video_id)
    if video is None or video.status != "processing":
        return  # deleted, or already done by an earlier delivery: nothing to do (idempotent)
    with tempfile.TemporaryDirectory(prefix=f"vidstore-{job.video_id}-") as tmp:
        try:
            probe, manifest, thumb = await asyncio.to_thread(_transcode, state, job.video_id, Path(tmp))
        except media.InvalidMedia as exc:
            await videos.set_fields(state, video, {"status": "failed", "failure_reason": str(exc)[:500]})
            return
    ready = {"status": "ready", "duration_ms": probe.duration_ms, "manifest_key": manifest}
    await videos.set_fields(state, video, ready | {"thumbnail_key": thumb, "failure_reason": None})


async def delete_blobs(state: AppState, job: Job) -> None:
    for prefix in (f"uploads/{job.video_id}/", storage.video_prefix(job.video_id)):
        await asyncio.to_thread(state.store.delete_prefix, prefix)
    await state.redis.publish(state.events_channel(job.video_id), "blobs_deleted")


HANDLERS = {"transcode": transcode, "delete_blobs": delete_blobs}


class Worker:
    def __init__(self, state: AppState, name: str | None = None) -> None:
        self.state = state
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"

    async def handle(self, job: Job) -> None:
        token = REQUEST_ID.set(job.request_id or None)  # this job's lines carry its request's id
        try:
            await self._handle(job)
        finally:
            REQUEST_ID.reset(token)

    async def _handle(self, job: Job) -> None:
        started = time.perf_counter()
        fields = job.log_fields()
        try:
            await HANDLERS[job.kind](self.state, job)
        except Exception as exc:
            log.warning("job %s %s failed: %r", job.kind, job.video_id, exc, extra=fields)
            if await self.state.jobs.retry(job, repr(exc)):
                JOBS.labels(kind=job.kind, result="retried").inc()
            else:
                JOBS.labels(kind=job.kind, result="dead").inc()
                if job.kind == "transcode":
                    failed = {"status": "failed", "failure_reason": "processing failed"}
                    await videos.set_status(self.state, job.video_id, failed)
            return
        await self.state.jobs.ack(job)
        JOBS.labels(kind=job.kind, result="done").inc()
        DURATION.labels(kind=job.kind).observe(time.perf_counter() - started)
        log.info("job %s %s done", job.kind, job.video_id, extra=fields)

    async def run_once(self, block_ms: int = 1000) -> int:
        """Promote due retries, take over dead workers' jobs, else wait for new ones; handle them."""
        queue = self.state.jobs
        await queue.promote_due()
        jobs = await queue.reclaim(self.name, self.state.settings.job_reclaim_idle_seconds)
        if not jobs:
            jobs = await queue.read(self.name, block_ms)
        for job in jobs:
            await self.handle(job)
        depth, dead, oldest = await queue.stats()
        QUEUE_DEPTH.set(depth)
        DEAD.set(dead)
        QUEUE_AGE.set(oldest or 0)
        return len(jobs)

    async def run(self, stop: asyncio.Event) -> None:
        for kind in HANDLERS:  # every series from 0, so rates and quantiles exist before the first job
            DURATION.labels(kind=kind)
            for result in ("done", "retried", "dead"):
                JOBS.labels(kind=kind, result=result)
        await self.state.jobs.ensure_group()
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:  # a worker outlives outages of Redis, storage and the database
                log.exception("worker pass failed; retrying")
                await asyncio.sleep(1)
