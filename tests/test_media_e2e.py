"""End to end through real processes: a clip made by ffmpeg, uploaded straight to object storage
with presigned URLs, processed by the worker from the queue, played through the verifying edge.
Also: a corrupt upload ends `failed`; a worker killed mid-job is taken over; retries end in the
dead-letter stream; deletion removes the blobs; the sweeper removes orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
import redis

from api.domain.playback.tokens import sign_path
from api.settings import Settings
from tests.conftest import base_settings, report
from tests.live import api_server, edge, free_port, until, worker

PART = 5 * 2**20  # uploads above this go multipart
LEASE_SECONDS = 2  # a job whose worker stopped heartbeating is taken over after this
TAKEOVER_TARGET_SECONDS = 30  # issue 15's bound on a dead worker's job being taken over
WORKER_ENV = {
    "VIDSTORE_UPLOAD_PART_BYTES": str(PART),
    "VIDSTORE_JOB_LEASE_SECONDS": str(LEASE_SECONDS),
    "VIDSTORE_JOB_RETRY_BASE_SECONDS": "0.2",
    "VIDSTORE_JOB_MAX_ATTEMPTS": "3",
}


def make_clip(path: Path, seconds: int, bitrate: str) -> Path:
    """A test pattern with noise (so the bitrate, hence the size, is what we ask) and a tone."""
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc=duration={seconds}:size=640x360:rate=25,noise=alls=40:allf=t+u",
            "-f",
            "lavfi",
            "-i",
            f"sine=duration={seconds}",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-b:v",
            bitrate,
            "-c:a",
            "aac",
            "-shortest",
            str(path),
        ],
        check=True,
        capture_output=True,
    )
    return path


@dataclass
class Stack:
    api: str
    edge: str
    settings: Settings
    worker: subprocess.Popen[bytes]
    env: dict[str, str]
    key: str = ""
    channel_id: int = 0

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def video(self, title: str = "clip") -> int:
        body = {"title": title, "visibility": "public"}
        made = httpx.post(f"{self.api}/v1/channels/{self.channel_id}/videos", json=body, headers=self.auth)
        assert made.status_code == 201, made.text
        return int(made.json()["video_id"])

    def upload(self, video_id: int, path: Path, content_type: str = "video/mp4") -> httpx.Response:
        """Ask for URLs, send the bytes straight to storage, complete. Returns the completion."""
        size = path.stat().st_size
        grant = httpx.post(
            f"{self.api}/v1/videos/{video_id}/upload",
            json={"content_type": content_type, "size_bytes": size},
            headers=self.auth,
        )
        assert grant.status_code == 201, grant.text
        body = grant.json()
        data = path.read_bytes()
        parts = []
        if body["url"]:
            assert httpx.put(body["url"], content=data, headers=body["headers"]).status_code == 200
        else:
            offset = 0
            for part in body["parts"]:
                chunk = data[offset : offset + part["size_bytes"]]
                offset += len(chunk)
                put = httpx.put(part["url"], content=chunk)
                assert put.status_code == 200, put.text
                parts.append({"part_number": part["part_number"], "etag": put.headers["ETag"]})
        done = {"parts": parts} if parts else {}
        return httpx.post(f"{self.api}/v1/videos/{video_id}/upload/complete", json=done, headers=self.auth)

    def wait_status(self, video_id: int, action: Callable[[], httpx.Response], seconds: float = 120) -> str:
        """Run `action`, then wait for the video's next final status event (pub/sub, not polling)."""
        client = redis.Redis.from_url(self.settings.redis_url)
        events = client.pubsub()
        events.subscribe(f"{self.settings.redis_prefix}:events:video:{video_id}")
        events.get_message(timeout=5)  # the subscription confirmation
        answer = action()
        assert answer.status_code < 300, answer.text
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                message = events.get_message(timeout=1)
                if message and message["type"] == "message" and message["data"] in (b"ready", b"failed"):
                    return str(message["data"].decode())
            raise AssertionError(f"video {video_id} reached no final status in {seconds} s")
        finally:
            events.close()
            client.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    settings = base_settings()
    env = WORKER_ENV | {"VIDSTORE_WORK_DIR": str(tmp_path_factory.mktemp("work"))}
    folder = tmp_path_factory.mktemp("edge")
    edge_port = free_port()
    env["VIDSTORE_CDN_BASE_URL"] = f"http://127.0.0.1:{edge_port}"
    with api_server(env) as api, edge(folder, edge_port) as edge_url, worker(env) as process:
        user = httpx.post(f"{api}/v1/users", json={"name": "creator"}).json()
        stack = Stack(api, edge_url, settings, process, env, key=user["api_key"])
        stack.channel_id = httpx.post(
            f"{api}/v1/channels", json={"title": "Clips"}, headers=stack.auth
        ).json()["channel_id"]
        yield stack


def test_upload_process_and_play_through_the_edge(stack: Stack, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "clip.mp4", seconds=5, bitrate="12M")
    assert clip.stat().st_size > PART  # so the upload goes multipart
    video_id = stack.video()
    started = time.monotonic()
    final = stack.wait_status(video_id, lambda: stack.upload(video_id, clip))
    took = time.monotonic() - started
    assert final == "ready"
    video = httpx.get(f"{stack.api}/v1/videos/{video_id}").json()
    assert video["status"] == "ready" and 4500 <= video["duration_ms"] <= 5500
    size = clip.stat().st_size / 2**20
    report(f"media: a 5 s 640x360 clip ({size:.1f} MiB, multipart) -> ready in {took:.1f} s")

    grant = httpx.post(f"{stack.api}/v1/videos/{video_id}/playback").json()
    assert grant["url"].startswith(stack.edge)
    master = httpx.get(grant["url"])
    assert master.status_code == 200 and master.text.startswith("#EXTM3U")
    variants = [line for line in master.text.splitlines() if line and not line.startswith("#")]
    assert sorted(variants) == ["240p/index.m3u8", "360p/index.m3u8"]
    playlist = httpx.get(urljoin(grant["url"], variants[0]))  # relative URI: the token comes along
    assert playlist.status_code == 200 and "#EXT-X-ENDLIST" in playlist.text
    segments = [line for line in playlist.text.splitlines() if line.endswith(".ts")]
    segment = httpx.get(urljoin(urljoin(grant["url"], variants[0]), segments[0]))
    assert segment.status_code == 200 and segment.content[:1] == b"\x47"  # MPEG-TS sync byte
    # The grant names the poster the worker recorded (thumbnail_key), signed like the playlist.
    assert grant["thumbnail_url"] == urljoin(grant["url"], "../thumb.jpg")
    thumb = httpx.get(grant["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"

    # Refused at the edge (tests/test_edge.py has the whole forgery matrix).
    path = urlsplit(grant["url"]).path
    _, _, vid, token, file = path.split("/", 4)
    keys = stack.settings.playback_keys
    refused = {
        "tampered": f"/videos/{vid}/{token[:-1]}{'A' if token[-1] != 'A' else 'B'}/{file}",
        "other video": f"/videos/{int(vid) + 1}/{token}/{file}",
        "expired": sign_path(keys, video_id, file, int(time.time()) - 1, None),
        "other address": sign_path(keys, video_id, file, int(time.time()) + 600, "203.0.113.50"),
        "query string": f"{path}?x=1",
    }
    for name, candidate in refused.items():
        assert httpx.get(stack.edge + candidate).status_code in (400, 403), name
    mine = sign_path(keys, video_id, file, int(time.time()) + 600, "127.0.0.1")
    assert httpx.get(stack.edge + mine).status_code == 200  # bound to this address: served


def test_a_corrupt_upload_ends_failed(stack: Stack, tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(os.urandom(300_000))
    video_id = stack.video("junk")
    assert stack.wait_status(video_id, lambda: stack.upload(video_id, junk)) == "failed"
    video = httpx.get(f"{stack.api}/v1/videos/{video_id}", headers=stack.auth).json()
    assert video["status"] == "failed" and "not a video" in video["failure_reason"]


def test_upload_rules(stack: Stack, tmp_path: Path) -> None:
    video_id = stack.video("rules")
    url = f"{stack.api}/v1/videos/{video_id}/upload"
    too_big = httpx.post(url, json={"content_type": "video/mp4", "size_bytes": 2**50}, headers=stack.auth)
    assert too_big.status_code == 400 and "size_bytes" in too_big.text
    wrong_type = httpx.post(url, json={"content_type": "text/html", "size_bytes": 10}, headers=stack.auth)
    assert wrong_type.status_code == 400 and "content_type" in wrong_type.text
    early = httpx.post(f"{url}/complete", json={}, headers=stack.auth)
    assert early.status_code == 409
    grant = httpx.post(url, json={"content_type": "video/mp4", "size_bytes": 1000}, headers=stack.auth).json()
    # The URL is signed for exactly this type and size: storage refuses anything else.
    assert (
        httpx.put(grant["url"], content=b"x" * 1000, headers={"Content-Type": "video/webm"}).status_code
        == 403
    )
    assert httpx.put(grant["url"], content=b"x" * 999, headers=grant["headers"]).status_code in (400, 403)
    missing = httpx.post(f"{url}/complete", json={}, headers=stack.auth)
    assert missing.status_code == 409 and "nothing was uploaded" in missing.text
    other = httpx.post(f"{stack.api}/v1/users", json={"name": "other"}).json()["api_key"]
    denied = httpx.post(
        url,
        json={"content_type": "video/mp4", "size_bytes": 10},
        headers={"Authorization": f"Bearer {other}"},
    )
    assert denied.status_code == 404  # a draft is invisible to others: its existence does not leak


def children(pid: int, name: str) -> list[int]:
    """Live processes called `name` whose parent is `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
            comm, ppid = fields[0].split("(", 1)[1], int(fields[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and comm == name:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def holds_lease(client: redis.Redis, lease_key: str, pid: int) -> bool:
    """Whether the worker process `pid` holds a job's lease (the lease's value names its holder)."""
    return f":{pid}|".encode() in cast(bytes, client.get(lease_key) or b"")


def test_a_worker_killed_mid_job_is_taken_over(stack: Stack, tmp_path: Path) -> None:
    """SIGKILL a worker while its ffmpeg runs: the ffmpeg dies with it, another worker takes the job
    over once the lease expires, the video ends ready, and the dead worker's temporary files go."""
    clip = make_clip(tmp_path / "long.mp4", seconds=20, bitrate="1M")
    video_id = stack.video("long")
    client = redis.Redis.from_url(stack.settings.redis_url)
    lease_key = f"{stack.settings.redis_prefix}:jobs:lease:transcode:{video_id}"
    os.kill(stack.worker.pid, signal.SIGSTOP)  # the main worker is frozen: the victim gets the job
    killed_at = taken_over = 0.0
    try:
        with worker(stack.env) as victim:
            workdir: Path | None = None

            def upload_then_kill_victim() -> httpx.Response:
                nonlocal killed_at, workdir, taken_over
                done = stack.upload(video_id, clip)
                ffmpeg = until(lambda: children(victim.pid, "ffmpeg"), 60, "the victim to start ffmpeg")
                workdir = next(Path(stack.env["VIDSTORE_WORK_DIR"]).glob(f"*_{victim.pid}"))
                assert any(workdir.iterdir())  # the job's temporary folder
                os.kill(victim.pid, signal.SIGKILL)  # mid-transcode
                killed_at = time.monotonic()
                # The kernel kills it (parent-death signal).
                until(lambda: not any(alive(pid) for pid in ffmpeg), 5, "ffmpeg to die with its worker")
                report(f"worker SIGKILLed: its ffmpeg died {time.monotonic() - killed_at:.2f} s later")
                os.kill(stack.worker.pid, signal.SIGCONT)  # the survivor takes it over
                until(
                    lambda: holds_lease(client, lease_key, stack.worker.pid),
                    killed_at + TAKEOVER_TARGET_SECONDS - time.monotonic(),
                    "the survivor to take the job over within the target",
                )
                taken_over = time.monotonic() - killed_at
                return done

            final = stack.wait_status(video_id, upload_then_kill_victim)
            took = time.monotonic() - killed_at
    finally:
        os.kill(stack.worker.pid, signal.SIGCONT)
        client.close()
    assert final == "ready"
    assert workdir is not None and not workdir.exists(), "the dead worker's temporary files remain"
    report(
        f"job taken over {taken_over:.1f} s after its worker died (stated bound: lease {LEASE_SECONDS} s"
        f" + one 1 s poll; target {TAKEOVER_TARGET_SECONDS} s), finished {took:.1f} s after"
    )


def test_a_frozen_worker_never_runs_a_job_its_successor_holds(stack: Stack, tmp_path: Path) -> None:
    """A worker frozen (SIGSTOP) past its lease loses the job: the successor runs it, and the frozen
    one, resumed, kills its ffmpeg and neither marks the video nor acks the job."""
    clip = make_clip(tmp_path / "frozen.mp4", seconds=20, bitrate="1M")
    video_id = stack.video("frozen")
    client = redis.Redis.from_url(stack.settings.redis_url)
    lease_key = f"{stack.settings.redis_prefix}:jobs:lease:transcode:{video_id}"
    os.kill(stack.worker.pid, signal.SIGSTOP)
    try:
        with worker(stack.env) as frozen:

            def upload_then_freeze() -> httpx.Response:
                done = stack.upload(video_id, clip)
                ffmpeg = until(lambda: children(frozen.pid, "ffmpeg"), 60, "the worker to start ffmpeg")
                os.kill(frozen.pid, signal.SIGSTOP)
                os.kill(ffmpeg[0], signal.SIGSTOP)  # all of it frozen, as in a stalled host
                os.kill(stack.worker.pid, signal.SIGCONT)
                until(
                    lambda: holds_lease(client, lease_key, stack.worker.pid),
                    30,
                    "the survivor to take the job over",
                )
                os.kill(ffmpeg[0], signal.SIGCONT)
                os.kill(frozen.pid, signal.SIGCONT)  # resumed: its next heartbeat fails
                until(lambda: not alive(ffmpeg[0]), 10, "the former holder to stop its ffmpeg")
                return done

            assert stack.wait_status(video_id, upload_then_freeze) == "ready"
    finally:
        os.kill(stack.worker.pid, signal.SIGCONT)
        client.close()


def test_retries_end_in_the_dead_letter_stream(stack: Stack) -> None:
    """A transcode whose source is missing fails every attempt: retried with backoff, then dead."""
    video_id = stack.video("lost")
    client = redis.Redis.from_url(stack.settings.redis_url)
    prefix = stack.settings.redis_prefix

    def lose_the_source() -> httpx.Response:
        import asyncio

        from api import storage
        from api.domain.jobs.queue import Job
        from api.wiring import Services

        async def processing_without_its_object() -> None:
            # The video is processing with its upload recorded but gone from storage (a storage loss).
            async with Services.opened(stack.settings) as services:
                fields = {"status": "processing", "source_key": storage.source_key(video_id)}
                assert await services.videos.set_fields_by_id(video_id, fields) is not None

        asyncio.run(processing_without_its_object())
        client.xadd(f"{prefix}:jobs", {"job": Job("transcode", video_id).payload()})
        return httpx.Response(202)

    assert stack.wait_status(video_id, lose_the_source) == "failed"
    dead = [
        fields
        for _, fields in cast("list[tuple[bytes, dict[bytes, bytes]]]", client.xrange(f"{prefix}:jobs:dead"))
        if f'"video_id": {video_id},'.encode() in fields[b"job"]
    ]
    client.close()
    assert len(dead) == 1 and b'"attempt": 3' in dead[0][b"job"] and b"404" in dead[0][b"error"]


def test_deleting_a_video_removes_its_blobs_and_the_sweeper_catches_orphans(
    stack: Stack, tmp_path: Path
) -> None:
    from api.wiring import Services

    clip = make_clip(tmp_path / "short.mp4", seconds=2, bitrate="500k")
    video_id = stack.video("to delete")
    assert stack.wait_status(video_id, lambda: stack.upload(video_id, clip)) == "ready"
    services = Services.create(stack.settings)
    assert list(services.store.keys(f"videos/{video_id}/"))
    client = redis.Redis.from_url(stack.settings.redis_url)
    events = client.pubsub()
    events.subscribe(f"{stack.settings.redis_prefix}:events:video:{video_id}")
    events.get_message(timeout=5)
    assert httpx.delete(f"{stack.api}/v1/videos/{video_id}", headers=stack.auth).status_code == 204
    assert httpx.get(f"{stack.api}/v1/videos/{video_id}").status_code == 404  # metadata: at once
    deadline = time.monotonic() + 30
    while (m := events.get_message(timeout=1)) is None or m["data"] != b"blobs_deleted":
        assert time.monotonic() < deadline, "blobs were not deleted"
    events.close()
    client.close()
    assert not list(services.store.keys(f"videos/{video_id}/")) and not list(
        services.store.keys(f"uploads/{video_id}/")
    )

    import asyncio

    from api.domain.processing.sweeper import sweep

    orphan = 10**15 + int(time.time())
    services.store.client.put_object(
        Bucket=services.store.bucket, Key=f"videos/{orphan}/hls/master.m3u8", Body=b"#EXTM3U"
    )

    async def sweep_once() -> list[int]:
        try:
            return await sweep(services.videos, services.store, grace_seconds=0)
        finally:
            await services.close()  # inside the loop its connections belong to

    removed = asyncio.run(sweep_once())
    assert orphan in removed and not list(services.store.keys(f"videos/{orphan}/"))
