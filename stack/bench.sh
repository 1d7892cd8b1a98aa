#!/usr/bin/env bash
# `make bench [BENCH_SECONDS=8]`: the benchmark (loadtest/bench.py) with the stack's environment.
source "$(dirname "$0")/env.sh"
cd "$ROOT"
exec "$ROOT/.venv/bin/python" -m loadtest.bench --seconds "${BENCH_SECONDS:-8}" "$@"
