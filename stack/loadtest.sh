#!/usr/bin/env bash
# `make loadtest [SHAPE=steady|ramp|spike] [USERS=20] [LOAD_SECONDS=60] [HOST=http://127.0.0.1:15080]`:
# seeds once (through the API, then marks the videos ready with the stack's own environment), then
# runs locust headless. Reports (CSV, HTML, a phase summary) go to .data/loadtest/.
source "$(dirname "$0")/env.sh"
# The database of the API `make run` started (VITESS=1 or not): seeding marks its videos ready there.
if [ -f "$RUN/app.env" ]; then set -a; . "$RUN/app.env"; set +a; fi
cd "$ROOT"
SHAPE="${SHAPE:-steady}" HOST="${HOST:-http://127.0.0.1:$API_PORT}"
OUT="$DATA/loadtest"
mkdir -p "$OUT"
case "$HOST" in
  http://127.0.0.1:*|http://localhost:*) ;;
  *) echo "!! load tests here run against loopback only (HOST=$HOST)" >&2; exit 2 ;;
esac
export VIDSTORE_SEED_FILE="$OUT/seed.json"  # the seeder writes it, the scenarios read it
if [ ! -f "$OUT/seed.json" ] || [ "$(jq -r .host "$OUT/seed.json")" != "$HOST" ]; then
  "$ROOT/.venv/bin/python" -m loadtest.seed --host "$HOST" ${SEED_ARGS:-} ||
    { echo "!! seeding $HOST failed" >&2; exit 1; }
fi
export VIDSTORE_SHAPE="$SHAPE" VIDSTORE_LOAD_USERS="${USERS:-20}" VIDSTORE_LOAD_SECONDS="${LOAD_SECONDS:-60}"
"$ROOT/.venv/bin/locust" -f loadtest/locustfile.py --headless --host "$HOST" --only-summary \
  --csv "$OUT/$SHAPE" --html "$OUT/$SHAPE.html" --loglevel WARNING \
  --exit-code-on-error 0  # shed requests (429/503) are failures to locust; the phase summary judges
echo ">> reports: $OUT/$SHAPE.html, $OUT/${SHAPE}_stats.csv, $OUT/$SHAPE-summary.json"
