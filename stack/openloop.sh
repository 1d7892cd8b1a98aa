#!/usr/bin/env bash
# `make spike` / `make model-check` [ARGS=...]: open-loop runs with vegeta (loadtest/openloop.py)
# against an API process of their own, on the stack's backend (VITESS=1: through vtgate).
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash "$ROOT/stack/vegeta-build.sh"  # set -e (env.sh): a failed build stops here
exec "$ROOT/.venv/bin/python" -m loadtest.openloop "$@"
