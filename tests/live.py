"""Real processes for end-to-end tests: granian serving the app (as `make run` does), the processing
worker, the edge."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TypeVar

import httpx

from loadtest.serving import ROOT, free_port, front, granian

T = TypeVar("T")

__all__ = [
    "ROOT",
    "api_server",
    "crashing_at",
    "edge",
    "eventually",
    "free_port",
    "full_stack",
    "put_back",
    "reshard",
    "seed",
    "start_reshard",
    "start_tablet",
    "stop_tablet",
    "until",
    "worker",
]


def crashing_at(*points: str) -> dict[str, str]:
    """The environment that arms the test-only plug-in (tests/crashplug/) in a process the test
    starts: it SIGKILLs itself at each point (`<point>[:<n>]`: the n-th time it gets there)."""
    return {"PYTHONPATH": str(ROOT / "tests" / "crashplug"), "VIDSTORE_CRASH_AT": ",".join(points)}


@contextmanager
def api_server(env: dict[str, str] | None = None) -> Iterator[str]:
    """The app served by granian on a free loopback port; yields its base URL. Its per-client rate
    limit is lifted: every test process calls from 127.0.0.1 (the limiter has tests of its own)."""
    with granian(env={"VIDSTORE_RATE_LIMIT_REQUESTS": "1000000"} | (env or {})) as url:
        yield url


def seed(
    api: str, out: Path, creators: int, videos: int, viewers: int, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m loadtest.seed` against `api` (two subscriptions per viewer), written to `out`."""
    counts = ["--creators", str(creators), "--videos", str(videos), "--viewers", str(viewers)]
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "loadtest.seed",
            "--host",
            api,
            *counts,
            "--subscriptions",
            "2",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=os.environ | {"VIDSTORE_SEED_FILE": str(out)} | (env or {}),
        capture_output=True,
        text=True,
        timeout=600,
    )


@contextmanager
def full_stack(edge_folder: Path) -> Iterator[str]:
    """The API, a processing worker and an edge, as `make run` starts them (on ports of the test's);
    yields the API's URL."""
    edge_port = free_port()
    env = {"VIDSTORE_CDN_BASE_URL": f"http://127.0.0.1:{edge_port}"}
    with api_server(env) as url, edge(edge_folder, edge_port), worker(env):
        yield url


@contextmanager
def worker(env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "worker"], cwd=ROOT, env=os.environ | (env or {})
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)
            process.terminate()
        process.wait(timeout=30)


@contextmanager
def edge(folder: Path, port: int | None = None, env: dict[str, str] | None = None) -> Iterator[str]:
    """An nginx edge (with `env` over the stack's: its keys and secret); yields its URL. Its API is
    whichever pushes revocations to it (VIDSTORE_EDGE_URLS, by default the CDN base URL)."""
    port = port or free_port()
    started = subprocess.run(
        ["bash", "stack/edge-up.sh", str(folder), str(port)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=os.environ | (env or {}),
    )
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        subprocess.run(
            ["bash", "stack/edge-down.sh", str(folder)], cwd=ROOT, check=False, capture_output=True
        )


async def eventually(
    check: Callable[[], Awaitable[bool]], seconds: float, what: str, every: float = 0.1
) -> None:
    """Poll `check` until it holds; fail after `seconds` (for events nothing announces)."""
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, f"timed out after {seconds} s waiting for {what}"
        await asyncio.sleep(every)


def until(check: Callable[[], T], seconds: float, what: str, every: float = 0.05) -> T:
    """`eventually` for synchronous tests: poll `check` until it returns something truthy, and
    return that; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out after {seconds} s waiting for {what}"
        time.sleep(every)
    return result


async def _script(command: list[str]) -> None:
    """Run a stack script; on failure, fail with what it printed (its own diagnosis)."""
    done = await asyncio.to_thread(subprocess.run, command, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}{done.stderr}"


async def stop_tablet(uid: int) -> None:
    """Stop one vttablet of the local Vitess cluster (its MariaDB keeps running)."""
    await _script(
        [
            "bash",
            "-c",
            f'source stack/vitess/env.sh && stop_pidfile "$VT_DATA/run/vttablet-{uid}.pid" vttablet',
        ]
    )


async def start_tablet(uid: int, keyspace: str, shard: str) -> None:
    await _script(["bash", "stack/vitess/vttablet-up.sh", str(uid), keyspace, shard])


async def start_reshard(to: str, *args: str) -> asyncio.subprocess.Process:
    """`make reshard KEYSPACE=vidstore TO=...` in a session of its own, its output piped."""
    return await asyncio.create_subprocess_exec(
        "bash",
        "stack/vitess/reshard.sh",
        "vidstore",
        f"--to={to}",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )


async def reshard(to: str, *args: str) -> tuple[float, str]:
    started = time.monotonic()
    process = await start_reshard(to, *args)
    out, _ = await process.communicate()
    text = out.decode()
    assert process.returncode == 0, f"reshard to {to} {args} failed:\n{text[-4000:]}"
    return time.monotonic() - started, text


async def put_back(to: str, *args: str) -> None:
    """After a failure, one more run that leaves -80,80- for the tests that follow (the failure is
    raised all the same): carrying on with a merge, or aborting a split."""
    process = await start_reshard(to, *args)
    await process.communicate()


class HeldUpstream(ThreadingHTTPServer):
    """An upstream whose /hold answers only when the test says so: the busy process, on demand."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.entered = threading.Event()
        self.release = threading.Event()
        self.seen: list[tuple[str, str | None, str]] = []  # (peer address, X-Forwarded-For, path)
        self.url = f"http://127.0.0.1:{self.server_port}"


class _Handler(BaseHTTPRequestHandler):
    server: HeldUpstream

    def do_GET(self) -> None:
        self.server.seen.append((self.client_address[0], self.headers.get("X-Forwarded-For"), self.path))
        if self.path == "/hold":
            self.server.entered.set()
            self.server.release.wait(30)
        body = b'{"ok":true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet: the test reads `seen`
        pass


@contextmanager
def held_upstream() -> Iterator[HeldUpstream]:
    server = HeldUpstream()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


@dataclass
class BusyFront:
    """The stack's front before a `HeldUpstream` whose every slot one held request keeps busy."""

    url: str
    upstream: HeldUpstream
    holder: threading.Thread
    held: list[httpx.Response]

    def release(self) -> httpx.Response:
        """Let the held request finish; its answer, through the front."""
        self.upstream.release.set()
        self.holder.join(30)
        assert self.held, "the held request got no answer through the front"
        return self.held[0]


@contextmanager
def busy_front(metrics_port: int | None = None) -> Iterator[BusyFront]:
    with held_upstream() as upstream, front(upstream.url, maxconn=1, metrics_port=metrics_port) as url:
        held: list[httpx.Response] = []
        holder = threading.Thread(target=lambda: held.append(httpx.get(f"{url}/hold", timeout=60)))
        holder.start()
        busy = BusyFront(url, upstream, holder, held)
        try:
            assert upstream.entered.wait(10), "the held request never reached the upstream"
            yield busy
        finally:
            busy.release()
