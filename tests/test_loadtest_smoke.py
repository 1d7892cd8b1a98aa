"""Short versions of `make loadtest` and `make bench`: they work (seed, locust with the spike shape,
every benchmark step), not how fast. Figures come from the real runs (BENCHMARKS.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BACKEND
from tests.live import ROOT, api_server

pytestmark = pytest.mark.skipif(BACKEND != "mariadb", reason="smoke runs once, in the MariaDB pass")


def test_seed_and_a_short_spike_run(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    summary = tmp_path / "summary.json"
    env = os.environ | {
        "VIDSTORE_SEED_FILE": str(seed),
        "VIDSTORE_SHAPE": "spike",
        "VIDSTORE_LOAD_USERS": "2",
        "VIDSTORE_LOAD_SECONDS": "6",
        "VIDSTORE_LOAD_SUMMARY": str(summary),
    }
    with api_server() as api:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "loadtest.seed",
                "--host",
                api,
                "--creators",
                "3",
                "--videos",
                "4",
                "--viewers",
                "5",
                "--subscriptions",
                "2",
                "--out",
                str(seed),
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        assert len(json.loads(seed.read_text())["videos"]) == 12
        subprocess.run(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                "loadtest/locustfile.py",
                "--headless",
                "--host",
                api,
                "--only-summary",
                "--csv",
                str(tmp_path / "run"),
                "--loglevel",
                "WARNING",
                "--exit-code-on-error",  # shed requests (503) fail in locust's eyes; the summary judges
                "0",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )
    result = json.loads(summary.read_text())
    assert {"steady", "spike"} <= set(result["phases"])
    assert sum(p["admitted"] for p in result["phases"].values()) > 0
    assert all(p["other_errors"] == 0 for p in result["phases"].values()), result
    assert (tmp_path / "run_stats.csv").exists()


def test_the_benchmark_runs_every_step() -> None:
    done = subprocess.run(
        ["bash", "stack/bench.sh", "--seconds", "1"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((ROOT / ".data/bench/result.json").read_text())
    assert result["ingest"]["ratio"] > 0 and result["ingest"]["fast_path_over_router"] > 0
    assert all(hot["ratio"] > 0 for hot in result["hot_video"].values()) and "mariadb" in result["hot_video"]
    assert result["flush"]["statements_per_10k_views"] > 0 and result["references"]["redis_incr_rps"] > 0
    assert {"mariadb cache hit", "mariadb cache miss"} <= set(result["get_video"])
    assert "| view ingest" in done.stdout
    playback = json.loads((ROOT / ".data/bench/edge.json").read_text())  # loadtest/edge_bench.py
    assert [p["storage_gets_per_1000_plays"] > 0 for p in playback] == [True, True]
