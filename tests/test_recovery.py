"""Crashes between two writes that must agree, with real processes killed for real (SIGKILL through
the test-only plug-in tests/crashplug): the API between the outbox commit and the enqueue, and
between the enqueue and the outbox delete; a worker between finishing a job and acking it. Every
time the video ends `ready`, nothing stays queued, and no outbox row is left behind."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import httpx
import pytest
import redis
from sqlalchemy import text

from api.domain.jobs.outbox import RELAY_AFTER_SECONDS
from api.settings import Settings
from api.wiring import Services
from loadtest.serving import wait_until_ok
from tests.conftest import base_settings, report
from tests.live import api_server, crashing_at, worker
from tests.test_media_e2e import Stack, make_clip

LEASE_SECONDS = 2


API_CRASHES = ("outbox_committed", "job_enqueued")


@dataclass
class Rig:
    stack: Stack
    env: dict[str, str]
    crashed_at: float = 0.0

    def crashing(self, *points: str) -> dict[str, str]:
        """The environment of a process that SIGKILLs itself the first time it reaches each point."""
        return self.env | crashing_at(*points)


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """An API that dies at each of API_CRASHES once (granian replaces its dead process), and a worker."""
    settings = base_settings()
    env = {
        "VIDSTORE_JOB_LEASE_SECONDS": str(LEASE_SECONDS),
        "VIDSTORE_WORK_DIR": str(tmp_path_factory.mktemp("work")),
        "VIDSTORE_CRASH_MARKS": str(tmp_path_factory.mktemp("crashes")),
    }
    api_env = (
        env
        | crashing_at(*API_CRASHES)
        | {
            "GRANIAN_RESPAWN_FAILED_WORKERS": "1",
            "GRANIAN_RESPAWN_INTERVAL": "0.2",
        }
    )
    with api_server(api_env) as api, worker(env) as process:
        user = httpx.post(f"{api}/v1/users", json={"name": "crashes"}).json()
        stack = Stack(api, "", settings, process, env, key=user["api_key"])
        stack.channel_id = httpx.post(
            f"{api}/v1/channels", json={"title": "Crashes"}, headers=stack.auth
        ).json()["channel_id"]
        yield Rig(stack, env)


def leftovers(settings: Settings, video_id: int) -> tuple[int, int]:
    """(outbox rows of the video, jobs pending in the stream)."""

    async def read() -> tuple[int, int]:
        services = Services.create(settings)
        try:
            async with services.db.primary.connect() as conn:
                rows = await conn.execute(
                    text("SELECT COUNT(*) FROM job_outbox WHERE video_id = :v"), {"v": video_id}
                )
                outbox = int(rows.scalar_one())
            pending = await services.redis.xpending(services.jobs.stream, "workers")
            return outbox, int(pending["pending"])
        finally:
            await services.close()

    return asyncio.run(read())


def settle(settings: Settings, video_id: int, seconds: float) -> tuple[int, int]:
    deadline = time.monotonic() + seconds
    while (left := leftovers(settings, video_id)) != (0, 0) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


@pytest.mark.parametrize("point", API_CRASHES)
def test_the_api_killed_between_the_outbox_and_the_queue(rig: Rig, point: str, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "clip.mp4", seconds=2, bitrate="300k")
    wait_until_ok(f"{rig.stack.api}/health/live", None, "the API (respawned)", seconds=180)
    # granian gives up (a "crash loop") when a worker dies within 5.5 s of its last respawn (a
    # constant in granian/server/common.py, no setting): a rule on time, so the test waits it out.
    time.sleep(max(0.0, rig.crashed_at + 6 - time.monotonic()))
    video_id = rig.stack.video(point)

    def complete_and_die() -> httpx.Response:
        try:
            answer = rig.stack.upload(video_id, clip)
        except httpx.TransportError:  # the API process died at the point, mid-request
            rig.crashed_at = time.monotonic()
            return httpx.Response(202)
        raise AssertionError(f"the API answered {answer.status_code} instead of dying at {point}")

    started = time.monotonic()
    assert rig.stack.wait_status(video_id, complete_and_die) == "ready"
    took = time.monotonic() - started
    assert (Path(rig.env["VIDSTORE_CRASH_MARKS"]) / point).exists()  # it did die there
    assert settle(rig.stack.settings, video_id, 3 * RELAY_AFTER_SECONDS + 30) == (0, 0)
    report(f"API SIGKILLed at {point}: the video was ready {took:.1f} s after the completion")


def test_a_worker_killed_between_its_work_and_the_ack(rig: Rig, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "clip.mp4", seconds=2, bitrate="300k")
    wait_until_ok(f"{rig.stack.api}/health/live", None, "the API (respawned)", seconds=180)
    video_id = rig.stack.video("unacked")
    os.kill(rig.stack.worker.pid, signal.SIGSTOP)  # the crashing worker gets the job
    try:
        with worker(rig.crashing("job_done")) as doomed:
            assert rig.stack.wait_status(video_id, lambda: rig.stack.upload(video_id, clip)) == "ready"
            assert doomed.wait(timeout=30) == -signal.SIGKILL  # died before its ack
            died = time.monotonic()
            os.kill(rig.stack.worker.pid, signal.SIGCONT)  # takes the unacked job over, finds it done
            assert settle(rig.stack.settings, video_id, 10 * LEASE_SECONDS + 30) == (0, 0)
            report(f"worker SIGKILLed before its ack: job settled {time.monotonic() - died:.1f} s later")
    finally:
        os.kill(rig.stack.worker.pid, signal.SIGCONT)
    client = redis.Redis.from_url(rig.stack.settings.redis_url)
    # redis-py types XRANGE's reply as optional (entries and fields both): it is always a list
    dead = [
        f
        for _, f in cast(
            "list[tuple[bytes, dict[bytes, bytes]]]",
            client.xrange(f"{rig.stack.settings.redis_prefix}:jobs:dead"),
        )
    ]
    client.close()
    assert not [f for f in dead if f'"video_id": {video_id},'.encode() in f[b"job"]]
