"""Serving the app on a loopback port of its own, for the benchmark and the end-to-end tests: granian
(as `make run` serves it), started, and waited for until it answers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_ok(
    url: str,
    process: subprocess.Popen[bytes] | None,
    what: str,
    seconds: float = 30,
    status: int | None = None,
) -> None:
    """Poll `url` until it answers `status` (by default: anything below 500); fail at once if
    `process` died, or after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        assert process is None or process.poll() is None, f"{what} exited during startup"
        try:
            answer = httpx.get(url).status_code
            if answer == status or (status is None and answer < 500):
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{what} did not answer in {seconds} s"
        time.sleep(0.1)


@contextmanager
def granian(
    target: str = "api.app:create_app",
    env: dict[str, str] | None = None,
    factory: bool = True,
    cpu: int | None = None,
    log_level: str = "warning",
    startup_seconds: float = 120,
    cwd: Path | None = None,
) -> Iterator[str]:
    """One granian worker serving `target` (pinned to core `cpu` if given) from `cwd` (by default this
    checkout); yields its base URL."""
    port = free_port()
    args = ["taskset", "-c", str(cpu)] if cpu is not None else []
    args += [str(Path(sys.executable).parent / "granian"), "--interface", "asgi"]
    args += ["--factory"] if factory else []
    args += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--no-access-log"]
    args += ["--log-level", log_level, target]
    # A session of its own: granian's worker is a child process, and a kill must reach it too.
    process = subprocess.Popen(args, cwd=cwd or ROOT, env=os.environ | (env or {}), start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        # Generous: on a loaded shared machine the import alone has taken over 30 s.
        wait_until_ok(f"{url}/health/live", process, target, seconds=startup_seconds)
        yield url
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    """TERM, then KILL to its whole session (started with `start_new_session`) after `seconds`."""
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def front(
    upstream: str,
    maxconn: int = 4,
    queue_timeout: str = "1ms",
    cpu: int | None = None,
    metrics_port: int | None = None,
) -> Iterator[str]:
    """The stack's front (stack/front/haproxy.cfg, as `make run` serves it) before `upstream` (a
    base URL): at most `maxconn` requests sent on at once, the rest queued for `queue_timeout`, then
    refused with 503; its Prometheus metrics on `metrics_port`; yields the front's base URL."""
    port = free_port()
    env = {
        "FRONT_PORT": str(port),
        "FRONT_METRICS_PORT": str(metrics_port or free_port()),
        "FRONT_API_PORT": upstream.rsplit(":", 1)[1],
        "FRONT_MAXCONN": str(maxconn),
        "FRONT_QUEUE_TIMEOUT": queue_timeout,
        "FRONT_SOURCE": os.environ["VIDSTORE_FRONT_SOURCE"],  # stack/env.sh, with the API's trust of it
        "FRONT_ERRORS": str(ROOT / "stack" / "front" / "errors"),
    }
    args = ["taskset", "-c", str(cpu)] if cpu is not None else []
    args += ["haproxy", "-db", "-f", str(ROOT / "stack" / "front" / "haproxy.cfg")]
    process = subprocess.Popen(args, env=os.environ | env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ok(f"{url}/health/live", process, "the front (haproxy)", seconds=20, status=200)
        yield url
    finally:
        stop(process, seconds=30)
