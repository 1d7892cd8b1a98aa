#!/usr/bin/env bash
# `make bench [BENCH_SECONDS=8]`: the benchmark (loadtest/bench.py) with the stack's environment.
source "$(dirname "$0")/env.sh"
cd "$ROOT"
"$ROOT/.venv/bin/python" -m loadtest.bench --seconds "${BENCH_SECONDS:-8}" "$@"
# Playback: the edge that verifies and caches against the path it replaced (loadtest/edge_bench.py).
"$ROOT/.venv/bin/python" -m loadtest.edge_bench --seconds "${BENCH_SECONDS:-8}" "$@"
