#!/usr/bin/env bash
# `make status`: what runs. The supervised processes (state, pid, uptime), then the Vitess cluster's.
source "$(dirname "$0")/env.sh"
if supervisor_running; then supervise status || true; else echo "supervisor: not running (make run)"; fi
VT_RUN="$DATA/vitess/run"
if [ -d "$VT_RUN" ]; then
  up=() down=()
  for f in "$VT_RUN"/*.pid "$DATA"/vitess/mysql-*/mysql.pid; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .pid); [ "$name" = mysql ] && name=$(basename "$(dirname "$f")")
    if pid_alive "$f"; then up+=("$name"); else down+=("$name"); fi
  done
  echo "vitess: ${#up[@]} running (${up[*]:-none})${down:+; dead: ${down[*]}}"
fi
echo "logs: $LOGS"
