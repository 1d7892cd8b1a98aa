#!/usr/bin/env bash
# Stops every monitoring server this checkout started (data and target files stay under .data/monitoring).
source "$(dirname "$0")/env.sh"
for pidfile in "$MON_RUN"/*.pid; do
  [ -e "$pidfile" ] && stop_daemon "$(basename "$pidfile" .pid)"
done
exit 0
