#!/usr/bin/env bash
# Object storage: versitygw (a real S3 server) on 127.0.0.1:$S3_PORT over .data/s3, built from the
# Go module proxy at the pinned version the first time; then the bucket the app uses.
source "$(dirname "$0")/env.sh"
source "$ROOT/stack/versions.sh"
if [ ! -x "$VERSITYGW_BIN" ]; then
  echo ">> building versitygw $VERSITYGW_VERSION (about a minute the first time)"
  GOBIN="$(dirname "$VERSITYGW_BIN")" go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
fi
PID="$RUN/s3.pid"
LOG="$LOGS/s3.log"
if ! pid_alive "$PID"; then
  mkdir -p "$DATA/s3"
  ROOT_ACCESS_KEY="$VIDSTORE_S3_ACCESS_KEY" ROOT_SECRET_KEY="$VIDSTORE_S3_SECRET_KEY" \
    setsid -f bash -c 'echo $$ >"$0"; exec "$@"' "$PID" \
    "$VERSITYGW_BIN" --port "127.0.0.1:$S3_PORT" --quiet posix "$DATA/s3" >>"$LOG" 2>&1 </dev/null
  wait_for 20 "object storage" "$LOG" curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/"
fi
"$ROOT/.venv/bin/python" -m api.cli storage-init
echo ">> object storage (S3 API) up on 127.0.0.1:$S3_PORT"
