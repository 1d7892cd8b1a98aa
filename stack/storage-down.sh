#!/usr/bin/env bash
source "$(dirname "$0")/env.sh"
if pid_alive "$RUN/s3.pid"; then kill "$(cat "$RUN/s3.pid")"; echo ">> object storage stopped"; fi
rm -f "$RUN/s3.pid"
