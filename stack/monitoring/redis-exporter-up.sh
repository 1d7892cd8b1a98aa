#!/usr/bin/env bash
# prometheus-redis-exporter (Debian) for the stack's Redis: up, memory against maxmemory, AOF status.
source "$(dirname "$0")/env.sh"
if ! daemon_running redis-exporter; then
  start_daemon redis-exporter "$MON_LOGS/redis-exporter.log" prometheus-redis-exporter \
    -redis.addr "redis://127.0.0.1:$REDIS_PORT" -web.listen-address "127.0.0.1:$REDIS_EXPORTER_PORT" \
    || { echo "!! redis exporter did not start" >&2; exit 1; }
fi
wait_healthy redis-exporter "http://127.0.0.1:$REDIS_EXPORTER_PORT/metrics" || exit 1
target redis main "127.0.0.1:$REDIS_EXPORTER_PORT"
echo ">> redis exporter on 127.0.0.1:$REDIS_EXPORTER_PORT"
