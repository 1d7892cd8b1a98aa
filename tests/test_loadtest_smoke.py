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
from tests.live import seed as seed_videos

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
        done = seed_videos(api, seed, creators=3, videos=4, viewers=5, env=env)
        assert done.returncode == 0, done.stderr[-2000:]
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


def test_the_benchmark_and_the_capacity_plan_produce_every_figure(tmp_path: Path) -> None:
    """`make bench` in small (every step, every figure, no response other than 2xx), then
    `vidstore capacity` on the JSON it wrote."""
    done = subprocess.run(
        ["bash", "stack/bench.sh", "--seconds", "2", "--runs", "1", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        env=os.environ | {"BENCH_EDGE_SECONDS": "1"},  # the edge benchmark's 50-play smoke run
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads((tmp_path / "result.json").read_text())
    sections = result["sections"]
    backends = ["mariadb"] + (["vitess"] if "get_video_vitess" in sections else [])
    print(f"bench sections: {sorted(sections)}")
    # (views_before only with VIDSTORE_BENCH_BEFORE: an earlier commit's checkout, BENCHMARKS.md)
    assert set(sections["ingest"]["figures"]) == {"bare", "trivial", "views", "views_nodedupe"}
    for backend in backends:
        assert set(sections[f"hot_video_{backend}"]["figures"]) == {"buffered", "naive_fsync", "naive_flush2"}
        flush = sections[f"flush_{backend}"]["figures"]["flush"]
        assert flush["rows_per_s"]["median"] > 0 and flush["views_per_s"]["median"] > 0
        assert flush["views_per_row"]["law"].startswith("Zipf")
        figures = sections[f"get_video_{backend}"]["figures"]
        assert set(figures) == {"local_hit", "redis_hit", "miss", "uncached_one_conn", "select_one_conn"}
        # Real misses, counted by the server (their share is the real run's business: the smoke's
        # 100 ids are each a miss once, then hits for the rest of its 2 seconds).
        assert figures["miss"]["share_miss"]["median"] > 0, figures["miss"]
    if "vitess" in backends:  # issue 12: the sharded lookup beside the unsharded one, same rows
        lookup = sections["lookup_vitess"]
        assert set(lookup["figures"]) == {"sharded_1", "sharded_16", "unsharded_1", "unsharded_16"}
        assert all(f["qps"]["median"] > 0 for f in lookup["figures"].values()), lookup
    for body in sections.values():
        for fig in body.get("figures", {}).values():
            if "p50_ms" in fig:  # a wrk figure: median with its spread, every response 2xx
                assert {"median", "min", "max"} <= set(fig["rps"]) and fig["non2xx"] == 0, fig
        for rt in body.get("ratios", {}).values():
            # Present with its spread; its size is the real run's business (on a busy machine a
            # 2-second hot-video run may complete nothing, and a round without a reference is
            # left out and counted, never divided by).
            assert {"of", "over", "median", "min", "max"} <= set(rt) and rt["median"] >= 0, rt
    assert result["errors"] == {}
    assert "measured on a shared" in result["meta"]["contention"]
    assert "| ratio (run by run)" in done.stdout

    plan = subprocess.run(
        [
            "bash",
            "stack/cli.sh",
            "capacity",
            "--bench",
            str(tmp_path / "result.json"),
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert plan.returncode == 0, plan.stderr[-2000:]
    assert "## Fleet" in plan.stdout and str(tmp_path / "result.json") in plan.stdout
    assert (tmp_path / "capacity-fleet.png").exists() and (tmp_path / "capacity-cost.png").exists()
    playback = json.loads((ROOT / ".data/bench/edge.json").read_text())  # loadtest/edge_bench.py
    assert [p["storage_gets_per_1000_plays"] > 0 for p in playback["paths"]] == [True, True]
    assert playback["requests_per_s_ratio"]["median"] > 0
