#!/usr/bin/env bash
source "$(dirname "$0")/env.sh"
PID="$RUN/redis.pid"
if pid_alive "$PID"; then
  redis-cli -p "$REDIS_PORT" shutdown >/dev/null 2>&1 || kill "$(cat "$PID")"
  while pid_alive "$PID"; do sleep 0.2; done
  echo ">> redis stopped"
fi
