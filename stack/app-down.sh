#!/usr/bin/env bash
source "$(dirname "$0")/env.sh"
bash "$ROOT/stack/edge-down.sh"
bash "$ROOT/stack/monitoring/app-sd.sh" remove
for name in api flusher worker; do
  if pid_alive "$RUN/$name.pid"; then
    kill "$(cat "$RUN/$name.pid")"
    while pid_alive "$RUN/$name.pid"; do sleep 0.2; done
    echo ">> $name stopped"
  fi
  rm -f "$RUN/$name.pid"
done
