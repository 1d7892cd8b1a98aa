#!/usr/bin/env bash
# A project-local Redis on 127.0.0.1:$REDIS_PORT with AOF (fsync every second), data under .data/redis.
source "$(dirname "$0")/env.sh"
DIR="$DATA/redis"
PID="$RUN/redis.pid"
LOG="$LOGS/redis.log"
mkdir -p "$DIR"
if pid_alive "$PID"; then echo ">> redis already running on $REDIS_PORT"; exit 0; fi
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$DIR" --pidfile "$PID" --logfile "$LOG" \
  --daemonize yes --appendonly yes --appendfsync everysec --save "" --protected-mode yes
wait_for 20 "redis" "$LOG" redis-cli -p "$REDIS_PORT" ping
echo ">> redis up on 127.0.0.1:$REDIS_PORT"
