#!/usr/bin/env bash
# Starts the view flusher, the processing worker, the edge and the API under the supervisor, each
# reported up only once it answers; they keep running (and are restarted if they die) until
# `make stop`. `make status` shows them, their logs are in .data/logs/.
source "$(dirname "$0")/env.sh"
# The app's database: what this `make run` chose (VITESS=1 or not); a change restarts the app.
env_now=$(for v in VIDSTORE_BACKEND VIDSTORE_DATABASE_URL VIDSTORE_REPLICA_DATABASE_URL VIDSTORE_WEB_WORKERS \
  VIDSTORE_FRONT_QUEUE_TIMEOUT; do
  if [ -n "${!v:-}" ]; then printf '%s=%q\n' "$v" "${!v}"; fi; done)
if [ "$env_now" != "$(cat "$RUN/app.env" 2>/dev/null)" ]; then
  (umask 077; echo "$env_now" >"$RUN/app.env")
  for name in api flusher worker edge front; do stop_program "$name"; done  # those it runs, by name
fi
metrics() { curl -sf -o /dev/null "http://127.0.0.1:$1/"; }
start_program flusher || fail "the flusher did not start"
wait_for 90 flusher "$LOGS/flusher.log" metrics "$FLUSHER_METRICS_PORT" || fail "the flusher is not serving metrics"
echo ">> flusher running (log: $LOGS/flusher.log, metrics: http://127.0.0.1:$FLUSHER_METRICS_PORT/)"
start_program worker || fail "the worker did not start"
wait_for 90 worker "$LOGS/worker.log" metrics "$WORKER_METRICS_PORT" || fail "the worker is not serving metrics"
echo ">> processing worker running (log: $LOGS/worker.log, metrics: http://127.0.0.1:$WORKER_METRICS_PORT/)"
start_program api || fail "the API did not start"
wait_for 120 API "$LOGS/api.log" curl -sf -o /dev/null "http://127.0.0.1:$API_PORT/health/ready" ||
  fail "the API is not ready"
start_program front || fail "the front did not start"
wait_for 20 front "$LOGS/front.log" curl -sf -o /dev/null "http://127.0.0.1:$FRONT_PORT/health/live" ||
  fail "the front does not reach the API"
start_program edge || fail "the edge did not start"
wait_for 20 edge "$LOGS/edge.log" curl -s -o /dev/null "http://127.0.0.1:$EDGE_PORT/" || fail "the edge is not serving"
echo ">> edge up on http://127.0.0.1:$EDGE_PORT"
echo ">> API:  http://127.0.0.1:$FRONT_PORT, the front that sheds a spike (haproxy; metrics :$FRONT_METRICS_PORT/metrics)"
echo "   behind it http://127.0.0.1:$API_PORT (granian, ${VIDSTORE_WEB_WORKERS:-2} worker processes: VIDSTORE_WEB_WORKERS)"
bash "$ROOT/stack/monitoring/app-sd.sh" add  # Prometheus scrapes the API, flusher, worker and front
echo ">> docs: http://127.0.0.1:$API_PORT/schema/swagger"
echo ">> supervised (restarted when they die): make status; logs in $LOGS/; make stop stops everything"
