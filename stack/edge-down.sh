#!/usr/bin/env bash
# Stops an edge started by edge-up.sh (the tests' own; the stack's is supervised): quit, then KILL.
source "$(dirname "$0")/env.sh"
DIR="${1:-$DATA/edge}"
if pid_alive "$DIR/nginx.pid"; then
  nginx -p "$DIR" -c "$DIR/nginx.conf" -e "$DIR/error.log" -s quit || true
  for _ in $(seq 100); do pid_alive "$DIR/nginx.pid" || break; sleep 0.1; done
  if pid_alive "$DIR/nginx.pid"; then stop_pidfile "$DIR/nginx.pid" edge 2; fi  # quit did not do it
fi
