"""Command line: `vidstore flush [--once]` (the view flusher), `vidstore worker` (processing jobs),
`vidstore sweep` (orphaned blobs), `vidstore storage-init` (bucket and queue), and
`vidstore video-status` (an operator's way to move a video along by hand), and `vidstore capacity`
(the capacity plan, capacity/)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from prometheus_client import start_http_server

from api import logs, storage
from api.domain.processing.sweeper import sweep
from api.settings import Settings
from api.wiring import Services
from capacity import cli as capacity_cli


def _service(metrics_port: int | None) -> asyncio.Event:
    """For a long-running process: serve its metrics, and stop gracefully on SIGINT/SIGTERM."""
    if metrics_port:
        start_http_server(metrics_port, addr="127.0.0.1")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _flush(once: bool, metrics_port: int | None) -> None:
    settings = Settings.from_env()
    async with Services.opened(settings) as services:
        flusher = services.flusher()
        if once:
            print(await flusher.flush_once())
            return
        stop = _service(metrics_port)
        logging.getLogger("vidstore.flusher").info(
            "flusher running every %.1fs over shards %s",
            settings.flush_interval_seconds,
            [r.name for r in await flusher.shards()],
        )
        await flusher.run(settings.flush_interval_seconds, stop)


async def _video_status(
    video_id: int, status: str, duration_ms: int | None, manifest_key: str | None, reason: str | None
) -> None:
    async with Services.opened(Settings.from_env()) as services:
        fields: dict[str, object] = {"status": status}
        if status == "ready":
            fields["duration_ms"] = duration_ms
            fields["manifest_key"] = manifest_key or storage.manifest_key(video_id)
        if status == "failed":
            fields["failure_reason"] = reason or "failed"
        updated = await services.videos.set_fields_by_id(video_id, fields)
        if updated is None:
            raise SystemExit(f"video {video_id} not found")
        print(f"video {updated.video_id}: {updated.status}")


async def _worker(metrics_port: int | None) -> None:
    async with Services.opened(Settings.from_env()) as services:
        stop = _service(metrics_port)
        logging.getLogger("vidstore.worker").info("worker consuming %s", services.jobs.stream)
        await services.worker().run(stop)


async def _sweep(grace_seconds: float) -> None:
    async with Services.opened(Settings.from_env()) as services:
        removed = await sweep(services.videos, services.store, grace_seconds)
        print(f"swept the blobs of {len(removed)} deleted videos: {removed}")


async def _storage_init() -> None:
    async with Services.opened(Settings.from_env()) as services:
        await asyncio.to_thread(services.store.ensure_bucket)
        await services.jobs.ensure_group()
        print(f"bucket {services.store.bucket} and job queue ready")


def main() -> None:
    parser = argparse.ArgumentParser(prog="vidstore")
    sub = parser.add_subparsers(dest="command", required=True)
    flush = sub.add_parser("flush", help="move buffered views into the database")
    flush.add_argument("--once", action="store_true", help="one pass, then exit")
    flush.add_argument("--metrics-port", type=int, default=None, help="serve Prometheus metrics here")
    status = sub.add_parser("video-status", help="set a video's processing status")
    status.add_argument("video_id", type=int)
    status.add_argument("status", choices=["processing", "ready", "failed"])
    status.add_argument("--duration-ms", type=int, default=None)
    status.add_argument("--manifest-key", default=None)
    status.add_argument("--reason", default=None)
    worker = sub.add_parser("worker", help="process uploads and deletions from the job queue")
    worker.add_argument("--metrics-port", type=int, default=None, help="serve Prometheus metrics here")
    sweeper = sub.add_parser("sweep", help="remove blobs of videos that no longer exist")
    sweeper.add_argument("--grace-seconds", type=float, default=3600)
    sub.add_parser("storage-init", help="create the bucket and the job queue's consumer group")
    capacity_cli.add_arguments(sub.add_parser("capacity", help="fleet, storage and cost from assumptions"))
    args = parser.parse_args()
    if args.command == "capacity":
        print(capacity_cli.run(args), end="")
        return
    logs.configure({"flush": "flusher"}.get(args.command, args.command))
    if args.command == "flush":
        asyncio.run(_flush(args.once, args.metrics_port))
    elif args.command == "worker":
        asyncio.run(_worker(args.metrics_port))
    elif args.command == "sweep":
        asyncio.run(_sweep(args.grace_seconds))
    elif args.command == "storage-init":
        asyncio.run(_storage_init())
    else:
        asyncio.run(
            _video_status(args.video_id, args.status, args.duration_ms, args.manifest_key, args.reason)
        )


if __name__ == "__main__":
    main()
