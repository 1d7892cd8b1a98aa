#!/usr/bin/env bash
# Object storage: versitygw (a real S3 server) on 127.0.0.1:$S3_PORT over .data/s3, run by the
# supervisor, built from the Go module proxy at the pinned version the first time; then the bucket.
source "$(dirname "$0")/env.sh"
source "$ROOT/stack/versions.sh"
if [ ! -x "$VERSITYGW_BIN" ]; then
  echo ">> building versitygw $VERSITYGW_VERSION (about a minute the first time)"
  GOBIN="$(dirname "$VERSITYGW_BIN")" go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" ||
    fail "could not build versitygw"
fi
start_program s3 || fail "object storage did not start"
wait_for 20 "object storage" "$LOGS/s3.log" curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/" ||
  fail "object storage is not answering"
"$ROOT/.venv/bin/python" -m api.cli storage-init || fail "could not create the bucket"
echo ">> object storage (S3 API) up on 127.0.0.1:$S3_PORT"
