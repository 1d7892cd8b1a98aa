#!/usr/bin/env bash
# `serve.sh NAME`: one long-running process of the stack, in the foreground, as the supervisor (and
# systemd) runs it: exec'd, so signals reach the server itself. The app's processes take the
# database URLs `make run` chose ($RUN/app.env, written by app-run.sh), read again at each restart.
source "$(dirname "$0")/env.sh"
source "$ROOT/stack/versions.sh"
name=$1
if [ -f "$RUN/app.env" ]; then set -a; . "$RUN/app.env"; set +a; fi
PY="$ROOT/.venv/bin/python"
cd "$ROOT"
# The supervisor makes each program a process group of its own. Children that outlived a SIGKILLed
# predecessor (granian's workers keep serving when their parent dies) are removed before it restarts.
kill_leftovers "$name"
echo $$ >"$RUN/$name.pgid"
case "$name" in
  mariadb)  # --user is only honoured (and required) when we are root; its log goes to stderr
    exec mariadbd --no-defaults --datadir="$DATA/mariadb" --user="$(id -un)" \
      --bind-address=127.0.0.1 --port="$MARIADB_PORT" --socket="$MARIADB_SOCKET" --pid-file="$RUN/mariadb.pid" \
      --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
      --innodb-buffer-pool-size=256M --transaction-isolation=READ-COMMITTED --innodb-flush-log-at-trx-commit=1 \
      --max-connections=500 ;;
  redis)
    exec redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$DATA/redis" --pidfile "$RUN/redis.pid" \
      --logfile "" --daemonize no --appendonly yes --appendfsync everysec --save "" --protected-mode yes ;;
  s3)
    mkdir -p "$DATA/s3"
    ROOT_ACCESS_KEY="$VIDSTORE_S3_ACCESS_KEY" ROOT_SECRET_KEY="$VIDSTORE_S3_SECRET_KEY" \
      exec "$VERSITYGW_BIN" --port "127.0.0.1:$S3_PORT" --quiet posix "$DATA/s3" ;;
  api)  # several processes: Prometheus metrics are aggregated through files (multiprocess mode)
    export PROMETHEUS_MULTIPROC_DIR="$RUN/prometheus"
    rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    # granian served about 1.7x what uvicorn did for the same app here (wrk, /health/live: 24.2k vs
    # 14.2k/s); a worker process that dies is replaced by granian within half a second.
    exec "$ROOT/.venv/bin/granian" --interface asgi --factory --host 127.0.0.1 --port "$API_PORT" \
      --workers "${VIDSTORE_WEB_WORKERS:-2}" --respawn-failed-workers --respawn-interval 0.5 \
      --no-access-log --log-level warning api.app:create_app ;;
  flusher) exec "$PY" -m api.cli flush --metrics-port "$FLUSHER_METRICS_PORT" ;;
  worker) exec "$PY" -m api.cli worker --metrics-port "$WORKER_METRICS_PORT" ;;
  edge) EDGE_FOREGROUND=1 exec bash "$ROOT/stack/edge-up.sh" ;;
  front)  # 4 requests at once per API worker in all, 1 ms in the queue, then 503 (haproxy.cfg)
    export FRONT_PORT FRONT_METRICS_PORT FRONT_SOURCE FRONT_API_PORT="$API_PORT"
    export FRONT_MAXCONN="$((4 * ${VIDSTORE_WEB_WORKERS:-2}))" FRONT_QUEUE_TIMEOUT="${VIDSTORE_FRONT_QUEUE_TIMEOUT:-1ms}"
    export FRONT_ERRORS="$ROOT/stack/front/errors"
    exec haproxy -db -f "$ROOT/stack/front/haproxy.cfg" ;;
  *) echo "!! serve.sh: no program $name" >&2; exit 2 ;;
esac
