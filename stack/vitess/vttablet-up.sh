#!/usr/bin/env bash
# One unmanaged vttablet over its MariaDB: `vttablet-up.sh UID KEYSPACE SHARD`. Tablets start as
# replicas; cluster-up.sh then names each shard's primary (TabletExternallyReparented).
source "$(dirname "$0")/env.sh"
uid=$1 keyspace=$2 shard=$3
alias=$(tablet_alias "$uid")
port=$(tablet_port "$uid")
db_users=()
for role in app dba allprivs appdebug filtered; do
  db_users+=("--db-$role-user" "vt_$role" "--db-$role-password" "$VIDSTORE_VT_DB_PASSWORD")
done
db_users+=(--db-repl-user vt_repl --db-repl-password "$VIDSTORE_VT_REPL_PASSWORD")
# Transaction pool: Vitess's default cap (20) is below one API process's pool (10 + 20 overflow), so a
# write-heavy burst got "transaction pool connection limit exceeded"; 64 covers two processes.
if ! running "vttablet-$uid"; then
  start_vt "vttablet-$uid" "$VT_LOGS/vttablet-$uid.log" "$VITESS_BIN/vttablet" "${TOPO_FLAGS[@]}" \
    --tablet-path "$alias" --tablet-hostname 127.0.0.1 --bind-address 127.0.0.1 --grpc-bind-address 127.0.0.1 \
    --port "$port" --grpc-port "$(tablet_grpc_port "$uid")" \
    --init-keyspace "$keyspace" --init-shard "$shard" --init-tablet-type replica \
    --init-db-name-override "$keyspace" \
    --unmanaged --db-socket "$(mysql_socket "$uid")" --db-port "$(mysql_port "$uid")" \
    --db-charset utf8mb4 "${db_users[@]}" \
    --enable-replication-reporter --heartbeat-enable --heartbeat-interval 250ms --unhealthy-threshold 30s \
    --queryserver-config-transaction-cap 64 \
    --service-map grpc-queryservice,grpc-tabletmanager,grpc-updatestream \
    --health-check-interval 1s --log-format text
fi
wait_serving "vttablet-$uid" "http://127.0.0.1:$port/debug/status" "$VT_LOGS/vttablet-$uid.log"
echo ">> vttablet $alias ($keyspace/$shard) up on 127.0.0.1:$port"
# Prometheus scrapes the tablet and its MariaDB's exporter (file-based discovery; removed on stop).
# A tablet serves whether or not its exporter came up (a reshard must not fail on monitoring): a
# missing exporter is a down target, which its own alert reports.
bash "$ROOT/stack/monitoring/tablet-sd.sh" add "$uid" "$keyspace" "$shard" ||
  echo "!! monitoring of tablet $uid not set up (the tablet serves; Prometheus shows the target down)" >&2
