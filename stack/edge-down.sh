#!/usr/bin/env bash
source "$(dirname "$0")/env.sh"
DIR="${1:-$DATA/edge}"
if pid_alive "$DIR/nginx.pid"; then
  nginx -p "$DIR" -c "$DIR/nginx.conf" -e "$DIR/error.log" -s quit
  while pid_alive "$DIR/nginx.pid"; do sleep 0.1; done
  echo ">> edge stopped"
fi
