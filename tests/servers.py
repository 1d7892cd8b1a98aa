"""A private Redis server for tests that kill and restart it (never the stack's own)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import redis

from loadtest.serving import free_port
from tests.live import until


class RedisServer:
    """redis-server on loopback with the persistence the README recommends (AOF, fsync every second)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="vidstore-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.dir),
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        process = self.process

        def answers() -> bool:  # it has loaded its AOF by then
            assert process.poll() is None, "redis-server exited during startup"
            try:
                return bool(client.ping())
            except redis.exceptions.ConnectionError:
                return False

        until(answers, 20, "redis-server to answer")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final fsync (a crash of the Redis process)."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
