#!/usr/bin/env bash
# The playback edge: nginx (Debian) on 127.0.0.1:$EDGE_PORT, checking every request's token with the
# API's verifier (auth_request) and reading the file from the bucket through a presigned URL.
# `edge-up.sh [DIR PORT API_URL]`: the tests start their own edge in front of their own API.
# EDGE_FOREGROUND=1: nginx stays in the foreground (how the supervisor runs it, stack/serve.sh).
source "$(dirname "$0")/env.sh"
DIR="${1:-$DATA/edge}" PORT="${2:-$EDGE_PORT}" API="${3:-http://127.0.0.1:$API_PORT}"
if [ "${EDGE_FOREGROUND:-0}" != 1 ] && pid_alive "$DIR/nginx.pid"; then echo ">> edge already running on $PORT"; exit 0; fi
mkdir -p "$DIR/tmp"
sed -e "s|@DIR@|$DIR|g" -e "s|@PORT@|127.0.0.1:$PORT|g" -e "s|@API@|$API|g" \
  "$ROOT/stack/edge/nginx.conf.template" >"$DIR/nginx.conf"
if [ "${EDGE_FOREGROUND:-0}" = 1 ]; then
  exec nginx -p "$DIR" -c "$DIR/nginx.conf" -e "$DIR/error.log" -g "daemon off;"
fi
nginx -p "$DIR" -c "$DIR/nginx.conf" -e "$DIR/error.log"
wait_for 20 edge "$DIR/error.log" curl -s -o /dev/null "http://127.0.0.1:$PORT/"
echo ">> edge up on http://127.0.0.1:$PORT"
