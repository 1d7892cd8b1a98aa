#!/usr/bin/env bash
# `make bench [BENCH_SECONDS=4] [BENCH_RUNS=3]`: the benchmarks with the stack's environment, one
# line each (each writes its own report under .data/bench/). Extra arguments go to loadtest.bench.
source "$(dirname "$0")/env.sh"
cd "$ROOT"
"$ROOT/.venv/bin/python" -m loadtest.bench --seconds "${BENCH_SECONDS:-4}" --runs "${BENCH_RUNS:-3}" "$@"
# Playback: the edge that verifies and caches against the path it replaced (loadtest/edge_bench.py).
# BENCH_EDGE_SECONDS (default 8: 1,000 plays; under 5: a 50-play smoke run).
"$ROOT/.venv/bin/python" -m loadtest.edge_bench --seconds "${BENCH_EDGE_SECONDS:-8}"
