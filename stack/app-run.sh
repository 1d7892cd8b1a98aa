#!/usr/bin/env bash
# Starts the view flusher, the processing worker and the edge in the background, then serves the API
# in the foreground.
source "$(dirname "$0")/env.sh"
PY="$ROOT/.venv/bin/python"
cd "$ROOT"
if ! pid_alive "$RUN/flusher.pid"; then
  nohup "$PY" -m api.cli flush --metrics-port "$FLUSHER_METRICS_PORT" >"$LOGS/flusher.log" 2>&1 &
  echo $! > "$RUN/flusher.pid"
fi
echo ">> flusher running (log: $LOGS/flusher.log, metrics: http://127.0.0.1:$FLUSHER_METRICS_PORT/)"
if ! pid_alive "$RUN/worker.pid"; then
  nohup "$PY" -m api.cli worker --metrics-port "$WORKER_METRICS_PORT" >"$LOGS/worker.log" 2>&1 &
  echo $! > "$RUN/worker.pid"
fi
echo ">> processing worker running (log: $LOGS/worker.log, metrics: http://127.0.0.1:$WORKER_METRICS_PORT/)"
bash "$ROOT/stack/edge-up.sh"
echo ">> API:  http://127.0.0.1:$API_PORT"
echo ">> docs: http://127.0.0.1:$API_PORT/schema/swagger"
echo $$ > "$RUN/api.pid"
exec "$PY" -m uvicorn api.app:create_app --factory --host 127.0.0.1 --port "$API_PORT" \
  --no-access-log --log-level warning
