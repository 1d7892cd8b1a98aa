#!/usr/bin/env bash
source "$(dirname "$0")/env.sh"
PID="$RUN/mariadb.pid"
if pid_alive "$PID"; then
  kill "$(cat "$PID")"
  while pid_alive "$PID"; do sleep 0.2; done
  echo ">> mariadb stopped"
fi
