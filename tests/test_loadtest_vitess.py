"""`make loadtest` (stack/loadtest.sh, as printed in the README) against an API on the Vitess cluster,
three runs in a row, each seeding afresh: the seeder's bursts meet admission control (503 with
Retry-After) and must back off, and locust's shed requests are counted, never a crash."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BACKEND, report
from tests.live import ROOT, api_server

pytestmark = pytest.mark.skipif(BACKEND != "vitess", reason="make loadtest on Vitess: the vitess pass")

RUNS = 3


def test_make_loadtest_against_vitess_three_runs_in_a_row(tmp_path: Path) -> None:
    admitted, shed = [], []
    # The API as served (admission limit 8 per process); only the per-client limit is lifted, since
    # every simulated user calls from 127.0.0.1.
    with api_server() as api:
        for run in range(1, RUNS + 1):
            data = tmp_path / f"run{run}"  # a data folder of its own: no seed left from the last run
            done = subprocess.run(
                ["bash", "stack/loadtest.sh"],
                cwd=ROOT,
                env=os.environ
                | {
                    "VIDSTORE_DATA": str(data),
                    "HOST": api,
                    "SHAPE": "spike",
                    "USERS": "4",
                    "LOAD_SECONDS": "8",
                    "SEED_ARGS": "--creators 4 --videos 4 --viewers 20 --subscriptions 3",
                },
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, f"run {run}: {done.stdout[-3000:]}{done.stderr[-3000:]}"
            seeded = json.loads((data / "loadtest" / "seed.json").read_text())
            assert len(seeded["videos"]) == 16, seeded
            phases = json.loads((data / "loadtest" / "spike-summary.json").read_text())["phases"]
            assert all(p["other_errors"] == 0 for p in phases.values()), (run, phases)
            admitted.append(sum(p["admitted"] for p in phases.values()))
            shed.append(sum(p["shed_429_503"] for p in phases.values()))
            assert admitted[-1] > 0, (run, phases)
    report(f"make loadtest on Vitess, {RUNS} runs in a row: admitted {admitted}, shed {shed}, other errors 0")
