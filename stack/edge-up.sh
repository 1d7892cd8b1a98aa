#!/usr/bin/env bash
# The playback edge: nginx (Debian, with its njs module) on 127.0.0.1:$EDGE_PORT. It verifies each
# request's token itself (stack/edge/edge.js), refuses the videos the API has revoked (pushed to it
# by the worker), and serves files from the private bucket (its own SigV4-signed reads) through a
# cache keyed by the file's path without the token. It never calls the API.
# `edge-up.sh [DIR PORT]`: the tests start edges of their own. Returns
# once the edge answers. EDGE_FOREGROUND=1: nginx stays in the foreground (how the supervisor runs
# it, stack/serve.sh).
source "$(dirname "$0")/env.sh"
DIR="${1:-$DATA/edge}" PORT="${2:-$EDGE_PORT}"
if [ "${EDGE_FOREGROUND:-0}" != 1 ] && pid_alive "$DIR/nginx.pid"; then echo ">> edge already running on $PORT"; exit 0; fi
# The edge's own storage credentials (production: a read-only key of its own); locally the app's.
export VIDSTORE_EDGE_S3_ACCESS_KEY="${VIDSTORE_EDGE_S3_ACCESS_KEY:-$VIDSTORE_S3_ACCESS_KEY}"
export VIDSTORE_EDGE_S3_SECRET_KEY="${VIDSTORE_EDGE_S3_SECRET_KEY:-$VIDSTORE_S3_SECRET_KEY}"
STORAGE="${VIDSTORE_S3_ENDPOINT#*://}"
USER_LINE=""; [ "$(id -u)" -eq 0 ] && USER_LINE="user root;"
mkdir -p "$DIR/tmp" "$DIR/cache" "$DIR/revoked"  # revoked/: what the API pushed, kept across restarts
sed -e "s|@DIR@|$DIR|g" -e "s|@PORT@|127.0.0.1:$PORT|g" \
  -e "s|@JS@|$ROOT/stack/edge/edge.js|g" -e "s|@STORAGE@|${STORAGE%%/*}|g" -e "s|@USER@|$USER_LINE|g" \
  "$ROOT/stack/edge/nginx.conf.template" >"$DIR/nginx.conf"
if [ "${EDGE_FOREGROUND:-0}" = 1 ]; then
  exec nginx -p "$DIR" -c "$DIR/nginx.conf" -e "$DIR/error.log" -g "daemon off;"
fi
nginx -p "$DIR" -c "$DIR/nginx.conf" -e "$DIR/error.log"
wait_for 20 edge "$DIR/error.log" curl -s -o /dev/null "http://127.0.0.1:$PORT/"
echo ">> edge up on http://127.0.0.1:$PORT"
