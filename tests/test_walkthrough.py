"""The README's walkthrough, run as printed against the real server, worker and edge (only the API's
port differs, so it cannot clash with a `make run` on the same machine)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator

import pytest

from tests.live import ROOT, full_stack


def walkthrough_script() -> str:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- walkthrough[^>]*-->\s*```bash\n(.*?)```", readme, re.S)
    assert match, "README.md lost its walkthrough block"
    return match.group(1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The API, a processing worker and an edge, as `make run` starts them (on ports of the test's)."""
    with full_stack(tmp_path_factory.mktemp("edge")) as url:
        yield url


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
    out = done.stdout
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    accepted = [line for line in lines if line.get("accepted") is True]
    counts = [line for line in lines if "flushed" in line]
    assert {"status": "ready", "duration_ms": 5000} in lines  # uploaded, transcoded, ready
    assert [line["counted"] for line in accepted] == [True, False, True]  # the repeat counts once
    assert counts[-1] | {"video_id": 0} == {
        "video_id": 0,
        "views": 2,
        "flushed": 2,
        "buffered": 0,
        "unique_viewers_today": 2,
        "complete": True,
    }
    assert re.search(
        r"^http://127\.0\.0\.1:\d+/videos/\d+/\d+\.any\.pub\.[a-z0-9]+\.[A-Za-z0-9_-]{43}/hls/master\.m3u8$",
        out,
        re.M,
    )
    assert out.count("#EXTM3U") == 2 and "360p/index.m3u8" in out and "#EXT-X-TARGETDURATION" in out
    assert out.rstrip().endswith("403")
