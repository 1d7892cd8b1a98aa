#!/usr/bin/env bash
# prometheus-node-exporter (Debian): the machine's CPU, memory, disk and network.
source "$(dirname "$0")/env.sh"
mkdir -p "$MON/textfile"  # node metrics our scripts may drop in (*.prom)
if ! daemon_running node-exporter; then
  start_daemon node-exporter "$MON_LOGS/node-exporter.log" prometheus-node-exporter \
    --web.listen-address="127.0.0.1:$NODE_EXPORTER_PORT" --collector.textfile.directory="$MON/textfile" \
    || { echo "!! node exporter did not start" >&2; exit 1; }
fi
wait_healthy node-exporter "http://127.0.0.1:$NODE_EXPORTER_PORT/metrics" || exit 1
target node local "127.0.0.1:$NODE_EXPORTER_PORT"
echo ">> node exporter on 127.0.0.1:$NODE_EXPORTER_PORT"
