#!/usr/bin/env bash
# `make run`'s API, flusher, worker and front as scrape targets: `app-sd.sh add` (app-run.sh) or `remove`
# (app-down.sh: stopped on purpose, so no alert for it).
source "$(dirname "$0")/env.sh"
for entry in "api $API_PORT" "flusher $FLUSHER_METRICS_PORT" "worker $WORKER_METRICS_PORT" "front $FRONT_METRICS_PORT"; do
  read -r job port <<<"$entry"
  if [ "$1" = add ]; then target "$job" local "127.0.0.1:$port"; else untarget "$job" local; fi
done
