"""`make run`'s processes under the supervisor, killed under traffic: the flusher, the processing
worker (mid-transcode) and one API worker process are SIGKILLed while views pour in. Each is back
(a new process, then serving), no accepted view is lost or counted twice, and the transcode that
was running finishes on the restarted worker once its lease has expired.

It runs the stack's own scripts (stack/app-run.sh, stack/supervisor-down.sh) on a data folder and
ports of its own, over the test database and Redis."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from api import storage
from api.settings import Settings
from api.wiring import Services
from loadtest.serving import wait_until_ok
from tests.conftest import BACKEND, base_settings, report
from tests.live import ROOT, free_port, until
from tests.test_media_e2e import Stack, children, make_clip

pytestmark = pytest.mark.skipif(
    BACKEND != "mariadb", reason="supervision is tested once, in the MariaDB pass"
)

LEASE_SECONDS = 3
BACK_WITHIN = 5.0  # seconds for the supervisor (or granian) to start a new process


@dataclass
class Supervised:
    env: dict[str, str]
    api: str
    ports: dict[str, int]

    def sh(self, script: str) -> str:
        done = subprocess.run(
            ["bash", "-c", f"source stack/env.sh && {script}"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout.strip()

    def pid(self, program: str) -> int:
        return int(self.sh(f"supervise pid {program}") or 0)


@pytest.fixture(scope="module")
def supervised(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Supervised]:
    data = tmp_path_factory.mktemp("stack")
    real_data = Path(os.environ.get("VIDSTORE_DATA", ROOT / ".data"))
    shutil.copy(real_data / "secrets.env", data / "secrets.env")  # the running storage's keys
    ports = {name: free_port() for name in ("api", "flusher", "worker", "edge", "front", "front_metrics")}
    env = os.environ | {
        "VIDSTORE_DATA": str(data),
        "VIDSTORE_API_PORT": str(ports["api"]),
        "VIDSTORE_FLUSHER_METRICS_PORT": str(ports["flusher"]),
        "VIDSTORE_WORKER_METRICS_PORT": str(ports["worker"]),
        "VIDSTORE_EDGE_PORT": str(ports["edge"]),
        "VIDSTORE_FRONT_PORT": str(ports["front"]),
        "VIDSTORE_FRONT_METRICS_PORT": str(ports["front_metrics"]),
        "VIDSTORE_JOB_LEASE_SECONDS": str(LEASE_SECONDS),
        "VIDSTORE_FLUSH_INTERVAL_SECONDS": "0.2",
        "VIDSTORE_VIEW_DEDUPE_SECONDS": "0",
        "VIDSTORE_RATE_LIMIT_REQUESTS": "1000000",
        "VIDSTORE_WORK_DIR": str(data / "work"),
    }
    started = subprocess.run(
        ["bash", "stack/app-run.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    rig = Supervised(env, f"http://127.0.0.1:{ports['api']}", ports)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield rig
    finally:
        subprocess.run(["bash", "stack/supervisor-down.sh"], cwd=ROOT, env=env, timeout=300, check=False)


@dataclass
class Traffic:
    """Views sent one after another from a thread: 202s counted; transport errors are views whose
    fate the client cannot know (sent to a process that died)."""

    url: str
    accepted: int = 0
    unknown: int = 0
    refused: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self.stop.is_set():
                try:
                    status = client.post(self.url).status_code
                except httpx.TransportError:
                    self.unknown += 1
                    continue
                if status == 202:
                    self.accepted += 1
                else:
                    assert status == 503, status
                    self.refused += 1

    def wait_accepted(self, accepted: int, seconds: float = 60) -> None:
        until(lambda: self.accepted >= accepted, seconds, f"{accepted} views accepted")


def back(rig: Supervised, program: str, old: int, probe: str, limit: float) -> tuple[float, float]:
    """(seconds until a new process runs, seconds until it serves) after `old` was killed."""
    killed = time.monotonic()
    until(lambda: rig.pid(program) not in (0, old), limit, f"{program} to be restarted")
    spawned = time.monotonic() - killed
    wait_until_ok(probe, None, f"{program} (restarted)", seconds=120 - spawned)
    return spawned, time.monotonic() - killed


def make_ready(settings: Settings, video_id: int) -> None:
    async def go() -> None:
        services = Services.create(settings)
        try:
            ready = {"status": "ready", "duration_ms": 1000, "manifest_key": storage.manifest_key(video_id)}
            assert await services.videos.set_fields_by_id(video_id, ready) is not None
        finally:
            await services.close()

    asyncio.run(go())


def test_killed_processes_come_back_and_lose_nothing(supervised: Supervised, tmp_path: Path) -> None:
    rig = supervised
    settings = base_settings()
    key = httpx.post(f"{rig.api}/v1/users", json={"name": "ops"}).json()["api_key"]
    stack = Stack(rig.api, "", settings, None, rig.env, key=key)  # type: ignore[arg-type]
    stack.channel_id = httpx.post(f"{rig.api}/v1/channels", json={"title": "ops"}, headers=stack.auth).json()[
        "channel_id"
    ]
    watched = stack.video("watched")
    make_ready(settings, watched)
    clip = make_clip(tmp_path / "long.mp4", seconds=20, bitrate="1M")
    transcoded = stack.video("in flight")

    traffic = Traffic(f"{rig.api}/v1/videos/{watched}/views")
    sender = threading.Thread(target=traffic.run)
    sender.start()
    figures = []
    try:

        def upload_and_kill_everything() -> httpx.Response:
            done = stack.upload(transcoded, clip)
            worker = rig.pid("worker")
            until(lambda: children(worker, "ffmpeg"), 120, "the worker to start ffmpeg")
            for program in ("flusher", "worker", "front"):
                port = rig.ports[program]
                old = rig.pid(program)
                os.kill(old, signal.SIGKILL)
                spawned, serving = back(rig, program, old, f"http://127.0.0.1:{port}/", BACK_WITHIN)
                figures.append(f"{program} {spawned:.1f} s / {serving:.1f} s")
            api_main = rig.pid("api")
            victim = children(api_main, "granian")[0]
            os.kill(victim, signal.SIGKILL)
            killed = time.monotonic()

            def replaced() -> bool:
                workers = children(api_main, "granian")
                return victim not in workers and len(workers) >= 2

            until(replaced, BACK_WITHIN, "granian to replace its worker")
            figures.append(f"API worker process {time.monotonic() - killed:.1f} s")
            return done

        started = time.monotonic()
        assert stack.wait_status(transcoded, upload_and_kill_everything, seconds=300) == "ready"
        figures.append(f"in-flight transcode ready {time.monotonic() - started:.1f} s after its upload")
        traffic.wait_accepted(traffic.accepted + 100)  # views keep coming after the kills
    finally:
        traffic.stop.set()
        sender.join()

    deadline = time.monotonic() + 60
    while True:
        counts = httpx.get(f"{rig.api}/v1/videos/{watched}/views").json()
        if counts["buffered"] == 0 and counts["views"] >= traffic.accepted:
            break
        assert time.monotonic() < deadline, f"views not flushed: {counts}"
        time.sleep(0.2)
    # Never lost, never doubled: every 202 is counted once; a view sent to the API process that
    # died may or may not have been recorded, and nothing else was.
    assert traffic.accepted <= counts["flushed"] <= traffic.accepted + traffic.unknown, (counts, traffic)
    report(
        "supervised SIGKILLs (new process / serving): "
        + "; ".join(figures)
        + f"; views accepted {traffic.accepted}, counted {counts['flushed']}, in doubt {traffic.unknown}"
    )


def test_the_production_units_are_valid() -> None:
    """ops/systemd/ as systemd itself reads them (the binaries they name live on the servers)."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed here")
    units = sorted(str(p) for p in (ROOT / "ops" / "systemd").glob("*.service"))
    done = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True, check=False)
    problems = [line for line in done.stderr.splitlines() if "is not executable" not in line]
    assert len(units) == 3 and not problems, problems
