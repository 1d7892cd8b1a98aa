"""The API contract, checked from outside as an app developer meets it: schemathesis fuzzes every
operation of the served OpenAPI document against the real server (granian, MariaDB or vtgate,
Redis), with a valid API key, and every check it has must pass: no server error, no response
outside its documented schema or statuses, no schema-valid request refused, no invalid one
accepted. The docs page must work offline."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import report
from tests.live import ROOT, api_server

SEED = 14
# Test cases per operation in the fuzzing phase (the coverage phase adds its own per operation).
MAX_EXAMPLES = int(os.environ.get("VIDSTORE_FUZZ_EXAMPLES", "15"))


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with api_server({"VIDSTORE_AUTH_FAILURES_PER_WINDOW": "1000000"}) as url:
        yield url


def fuzz(
    url: str, key: str, owned: dict[str, int], out: Path, max_examples: int = MAX_EXAMPLES
) -> tuple[dict[str, Any], str]:
    """One schemathesis run over the served document, with the key of a user who owns the ids in
    `owned`; its JSON report and its console output."""
    args = [str(Path(sys.executable).parent / "st"), "run", f"{url}/schema/openapi.json"]
    args += ["--checks", "all", "--seed", str(SEED), "--max-examples", str(max_examples)]
    # One worker: with two threads, hypothesis's lambda descriptions (schemathesis's coverage phase)
    # raced once into an internal error; one thread keeps the seeded run repeatable.
    args += ["--phases", "examples,coverage,fuzzing", "--workers", "1", "--no-shrink"]
    args += ["--header", f"Authorization: Bearer {key}", "--suppress-health-check", "all"]
    args += ["--report", "json", "--report-json-path", str(out)]
    ids = ",".join(f"{name}={value}" for name, value in owned.items())
    env = os.environ | {
        "SCHEMATHESIS_HOOKS": "tests.contract_hooks",
        "VIDSTORE_FUZZ_IDS": ids,
        "PYTHONPATH": str(ROOT),
        "NO_COLOR": "1",
    }
    # Run from the report's folder: schemathesis keeps its example database there, not in the tree,
    # and no run replays an earlier run's examples (the seed alone decides).
    done = subprocess.run(args, cwd=out.parent, env=env, capture_output=True, text=True, timeout=900)
    return json.loads(out.read_text()), done.stdout + done.stderr


def summary(result: dict[str, Any]) -> str:
    kinds = ", ".join(f"{f['title']} {f['count']}" for f in result["failures"]) or "none"
    return (
        f"schemathesis seed {SEED}: {result['test_cases']['generated']} requests over "
        f"{result['operations']['tested']} operations, {result['test_cases']['with_failures']} failing "
        f"({kinds}), errors {sum(e['count'] for e in result['errors'])}"
    )


def fuzzer_user(url: str) -> tuple[str, dict[str, int]]:
    """A user's key, and the ids of a channel and a ready video it owns."""
    answer = httpx.post(f"{url}/v1/users", json={"name": "fuzzer"})
    assert answer.status_code == 201, answer.text
    key = str(answer.json()["api_key"])
    auth = {"Authorization": f"Bearer {key}"}
    channel = httpx.post(f"{url}/v1/channels", json={"title": "fuzzed"}, headers=auth).json()["channel_id"]
    video = httpx.post(f"{url}/v1/channels/{channel}/videos", json={"title": "fuzzed"}, headers=auth)
    video_id = int(video.json()["video_id"])
    ready = [sys.executable, "-m", "api.cli", "video-status", str(video_id), "ready", "--duration-ms", "1000"]
    subprocess.run(ready, cwd=ROOT, check=True, timeout=120, capture_output=True)
    return key, {"channel_id": int(channel), "video_id": video_id}


def test_fuzzer_finds_no_contract_violation(server: str, tmp_path: Path) -> None:
    key, owned = fuzzer_user(server)
    result, output = fuzz(server, key, owned, tmp_path / "schemathesis.json")
    report(summary(result))
    assert result["operations"]["tested"] == result["operations"]["total"] > 0, output[-3000:]
    assert result["failures"] == [] and result["errors"] == [], output[-6000:]
    assert result["exit_code"] == 0, output[-3000:]


def test_docs_page_works_offline(server: str) -> None:
    """Swagger UI's page and assets come from the API itself: no URL to another host."""
    page = httpx.get(f"{server}/schema/swagger")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    assert "SwaggerUIBundle(" in page.text and '"openapi":"3.1.0"' in page.text
    for url in urls:
        asset = httpx.get(server + url)
        assert asset.status_code == 200 and asset.content, url
