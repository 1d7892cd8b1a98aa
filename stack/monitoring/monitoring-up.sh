#!/usr/bin/env bash
# The monitoring stack, idempotently: exporters, the alert receiver and Alertmanager, then Prometheus.
# (Tablets and the Vitess cluster register their own targets when they start.)
source "$(dirname "$0")/env.sh"
M="$ROOT/stack/monitoring"
bash "$M/node-exporter-up.sh" || fail=1
bash "$M/redis-exporter-up.sh" || fail=1
bash "$M/mysqld-exporter-up.sh" main || fail=1
# Tablets registered earlier (their exporters stop with the monitoring stack).
for f in "$TARGETS"/vttablet-*.json; do
  [ -e "$f" ] || continue
  jq -r '.[0].labels | "\(.tablet) \(.keyspace) \(.shard)"' "$f" | {
    read -r uid keyspace shard; bash "$M/mysqld-exporter-up.sh" "$uid" "$keyspace" "$shard"; } || fail=1
done
bash "$M/alertmanager-up.sh" || fail=1
bash "$M/prometheus-up.sh" || fail=1
[ -z "${fail:-}" ] || { echo "!! monitoring stack incomplete (see above)" >&2; exit 1; }
echo ">> monitoring: http://127.0.0.1:$PROMETHEUS_PORT/consoles/index.html, alerts to $ALERT_LOG"
