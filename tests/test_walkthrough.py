"""The README's walkthrough, run as printed against a real uvicorn serving the app (only the API's
port differs, so it cannot clash with a `make run` on the same machine)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def walkthrough_script() -> str:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- walkthrough[^>]*-->\s*```bash\n(.*?)```", readme, re.S)
    assert match, "README.md lost its walkthrough block"
    return match.group(1)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:  # poll until the server answers (or died)
        assert process.poll() is None, "uvicorn exited during startup"
        try:
            if httpx.get(f"{url}/health/ready").status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "uvicorn did not become ready in 30 s"
        time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)


def test_readme_walkthrough_works_as_printed(server: str) -> None:
    script = walkthrough_script()
    assert "API=http://127.0.0.1:15080" in script
    script = script.replace("API=http://127.0.0.1:15080", f"API={server}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    accepted = [line for line in lines if line.get("accepted") is True]
    counts = [line for line in lines if "flushed" in line]
    grants = [line for line in lines if "url" in line]
    verified = [line for line in lines if "valid" in line]
    assert [line["counted"] for line in accepted] == [True, False, True]  # the repeat counts once
    assert counts[-1] | {"video_id": 0} == {
        "video_id": 0,
        "views": 2,
        "flushed": 2,
        "buffered": 0,
        "unique_viewers_today": 2,
        "complete": True,
    }
    assert re.fullmatch(
        r"http://127\.0\.0\.1:15081/videos/\d+/\d+\.any\.[A-Za-z0-9_-]{43}/hls/master\.m3u8", grants[0]["url"]
    )
    assert verified == [{**verified[0], "valid": True, "file": "hls/master.m3u8"}]
