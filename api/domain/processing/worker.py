"""The processing worker: takes jobs from the queue and runs their idempotent handlers.

transcode: source upload -> probe -> HLS (two renditions + master) and thumbnail under
           videos/{id}/ -> the video `ready` with its duration (one single-shard write), or
           `failed` with the reason when the upload is not a playable video.
delete_blobs: everything under uploads/{id}/ and videos/{id}/.
sync_edges: the video's revocation (api.cdn), read now, pushed to every edge; retried until every
           edge has taken it.
Transient errors (storage, database, Redis) are retried with backoff; after the last attempt the job
goes to the dead-letter stream and, for a transcode, the video is marked failed.

A held job is under a lease the worker renews every lease/5 seconds (queue.py); when renewing fails
(the lease was taken over while this worker was frozen or cut off from Redis), the job's ffmpeg is
killed and the job is left to its new holder, never acked or re-queued by this worker. Each worker's
temporary files live in a folder of its own, locked (flock) for the worker's lifetime; any worker
removes the folders whose lock is free (their worker is dead). The worker also runs the outbox relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

from prometheus_client import Counter, Gauge, Histogram

from api import faultpoints, storage
from api.domain.jobs.outbox import Outbox
from api.domain.jobs.queue import Job, JobQueue
from api.domain.playback.services import PlaybackService
from api.domain.processing import media
from api.domain.videos.schemas import Video
from api.domain.videos.services import VideoService
from api.logs import REQUEST_ID
from api.storage import ObjectStore

log = logging.getLogger("vidstore.worker")

JOBS = Counter("vidstore_jobs_total", "Jobs handled, by kind and result", ["kind", "result"])
QUEUE_DEPTH = Gauge("vidstore_job_queue_depth", "Jobs waiting, delayed for retry or in flight")
QUEUE_AGE = Gauge("vidstore_job_queue_oldest_seconds", "Age of the oldest job in the queue")
DEAD = Gauge("vidstore_job_dead_letters", "Jobs in the dead-letter stream")
DURATION = Histogram("vidstore_job_duration_seconds", "Time to handle a job", ["kind"])

CONTENT_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t", ".jpg": "image/jpeg"}


class LeaseLost(Exception):
    """The job was taken over (this worker was frozen or cut off longer than its lease)."""


class Lease:
    """A held job's lease as its handler sees it: `lost` is set by the heartbeat (ffmpeg watches it)
    and `confirm` checks with Redis before a write that must not come from a former holder."""

    def __init__(self, worker: Worker, job: Job) -> None:
        self.worker, self.job = worker, job
        self.lost = threading.Event()

    async def confirm(self) -> None:
        if self.lost.is_set() or not await self.worker.jobs.renew(self.job, self.worker.name):
            self.lost.set()
            raise LeaseLost(f"{self.job.kind} of video {self.job.video_id} was taken over")

    async def heartbeat(self) -> None:
        """Renew every lease/5; give up when renewal says no, or has failed for a whole lease."""
        queue = self.worker.jobs
        every = queue.lease_ms / 5000
        renewed = time.monotonic()
        while not self.lost.is_set():
            await asyncio.sleep(every)
            try:
                if not await queue.renew(self.job, self.worker.name):
                    self.lost.set()
                renewed = time.monotonic()
            except Exception as exc:
                log.warning("heartbeat of %s %s failed: %r", self.job.kind, self.job.video_id, exc)
                if time.monotonic() - renewed > queue.lease_ms / 1000:
                    self.lost.set()
        log.warning("lease of %s %s lost: stopping it", self.job.kind, self.job.video_id)


def _transcode(
    store: ObjectStore, video: Video, source_key: str, workdir: Path, abort: threading.Event
) -> tuple[media.Probe, str, str]:
    """The blocking part: download, probe, transcode, upload. Returns (probe, manifest, thumbnail)."""
    source = workdir / "source"
    store.download(source_key, str(source))
    probe = media.probe(source, abort)
    prefix = storage.video_prefix(video.video_id)
    for path in media.transcode(source, workdir / "hls", probe, abort):
        key = prefix + "hls/" + path.relative_to(workdir / "hls").as_posix()
        store.upload(str(path), key, CONTENT_TYPES.get(path.suffix, "application/octet-stream"))
    thumb = media.thumbnail(source, workdir / "thumb.jpg", probe, abort)
    store.upload(str(thumb), prefix + "thumb.jpg", "image/jpeg")
    return probe, storage.manifest_key(video.video_id), prefix + "thumb.jpg"


async def transcode(worker: Worker, job: Job, lease: Lease) -> None:
    video = await worker.videos.latest(job.video_id)
    if video is None or video.status != "processing":
        return  # deleted, or already done by an earlier delivery: nothing to do (idempotent)
    if video.source_key is None:  # set with `processing` by uploads.complete: never expected
        await lease.confirm()
        await worker.videos.set_fields(video, {"status": "failed", "failure_reason": "no upload recorded"})
        return
    with tempfile.TemporaryDirectory(prefix=f"job-{job.video_id}-", dir=worker.workdir) as tmp:
        try:
            probe, manifest, thumb = await asyncio.to_thread(
                _transcode, worker.store, video, video.source_key, Path(tmp), lease.lost
            )
        except media.Aborted as exc:
            raise LeaseLost(str(exc)) from exc
        except media.InvalidMedia as exc:
            await lease.confirm()
            await worker.videos.set_fields(video, {"status": "failed", "failure_reason": str(exc)[:500]})
            return
    await lease.confirm()  # a former holder never marks the video
    ready = {"status": "ready", "duration_ms": probe.duration_ms, "manifest_key": manifest}
    await worker.videos.set_fields(video, ready | {"thumbnail_key": thumb, "failure_reason": None})


async def delete_blobs(worker: Worker, job: Job, lease: Lease) -> None:
    for prefix in storage.prefixes(job.video_id):
        await asyncio.to_thread(worker.store.delete_prefix, prefix)
    await worker.videos.events.announce(job.video_id, "blobs_deleted")


async def sync_edges(worker: Worker, job: Job, lease: Lease) -> None:
    await worker.playback.sync_edges(job.video_id)


HANDLERS = {"transcode": transcode, "delete_blobs": delete_blobs, "sync_edges": sync_edges}


def work_root() -> Path:
    """Where workers keep temporary files: one folder per worker under a per-user parent."""
    base = os.environ.get("VIDSTORE_WORK_DIR") or os.path.join(
        tempfile.gettempdir(), f"vidstore-work-{os.getuid()}"
    )
    path = Path(base)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def remove_dead_workdirs(root: Path) -> list[str]:
    """Remove the folders of workers that are gone: their lock file is no longer locked."""
    removed = []
    for lock in root.glob("*.lock"):
        with contextlib.suppress(FileNotFoundError), open(lock, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its worker is alive
            shutil.rmtree(root / lock.stem, ignore_errors=True)
            lock.unlink(missing_ok=True)
            removed.append(lock.stem)
    return removed


class Worker:
    """Runs jobs from `jobs`: transcodes to `store`, writes through `videos`, pushes revocations to
    the edges through `playback`, relays `outbox`."""

    def __init__(
        self,
        videos: VideoService,
        playback: PlaybackService,
        store: ObjectStore,
        jobs: JobQueue,
        outbox: Outbox,
        name: str | None = None,
    ) -> None:
        self.videos, self.playback, self.store = videos, playback, store
        self.jobs, self.outbox = jobs, outbox
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self._lock: IO[str] | None = None
        self.workdir = self._claim_workdir()

    def _claim_workdir(self) -> Path:
        root = work_root()
        removed = remove_dead_workdirs(root)
        if removed:
            log.info("removed the temporary files of %d dead workers", len(removed))
        stem = self.name.replace("/", "_").replace(":", "_")
        self._lock = open(root / f"{stem}.lock", "a")  # noqa: SIM115 - held for the worker's lifetime
        fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        path = root / stem
        path.mkdir(exist_ok=True)
        return path

    def close(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
        if self._lock is not None:
            Path(self._lock.name).unlink(missing_ok=True)
            self._lock.close()
            self._lock = None

    @contextlib.asynccontextmanager
    async def _held(self, job: Job) -> AsyncIterator[Lease]:
        lease = Lease(self, job)
        beat = asyncio.create_task(lease.heartbeat())
        try:
            yield lease
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat

    async def handle(self, job: Job) -> None:
        token = REQUEST_ID.set(job.request_id or None)  # this job's lines carry its request's id
        try:
            await self._handle(job)
        finally:
            REQUEST_ID.reset(token)

    async def _handle(self, job: Job) -> None:
        started = time.perf_counter()
        queue = self.jobs
        fields = job.log_fields()
        async with self._held(job) as lease:
            try:
                await HANDLERS[job.kind](self, job, lease)
                await faultpoints.reached("job_done")
            except LeaseLost as exc:
                log.warning("%s", exc, extra=fields)
                JOBS.labels(kind=job.kind, result="lost").inc()
                return
            except Exception as exc:
                log.warning(
                    "job %s %s attempt %d failed: %r",
                    job.kind,
                    job.video_id,
                    job.attempt + 1,
                    exc,
                    extra=fields,
                )
                retried = await queue.retry(job, self.name, repr(exc))
                if retried is None:
                    JOBS.labels(kind=job.kind, result="lost").inc()
                elif retried:
                    JOBS.labels(kind=job.kind, result="retried").inc()
                else:
                    JOBS.labels(kind=job.kind, result="dead").inc()
                    if job.kind == "transcode":
                        failed = {"status": "failed", "failure_reason": "processing failed"}
                        await self.videos.set_fields_by_id(job.video_id, failed)
                return
            done = await queue.ack(job, self.name)
        JOBS.labels(kind=job.kind, result="done" if done else "lost").inc()
        DURATION.labels(kind=job.kind).observe(time.perf_counter() - started)
        log.info("job %s %s done", job.kind, job.video_id, extra=fields)

    async def run_once(self, block_ms: int = 1000) -> int:
        """Promote due retries, take over jobs whose worker stopped heartbeating, else wait for new
        ones; handle them."""
        queue = self.jobs
        await queue.promote_due()
        jobs = await queue.take_over(self.name)
        if jobs:  # their worker is gone: so are its temporary files
            await asyncio.to_thread(remove_dead_workdirs, self.workdir.parent)
        else:
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
            for result in ("done", "retried", "dead", "lost"):
                JOBS.labels(kind=kind, result=result)
        await self.jobs.ensure_group()
        relay = asyncio.create_task(self.outbox.relay(stop))
        try:
            while not stop.is_set():
                try:
                    await self.run_once()
                except Exception:  # a worker outlives outages of Redis, storage and the database
                    log.exception("worker pass failed; retrying")
                    await asyncio.sleep(1)
        finally:
            await relay
            self.close()
