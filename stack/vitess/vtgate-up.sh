#!/usr/bin/env bash
# vtgate: the MySQL-protocol front door the API connects to, on 127.0.0.1:$VTGATE_MYSQL_PORT.
# SINGLE transaction mode: a transaction that would touch two shards is refused, which keeps every
# flush atomic without 2PC and makes a routing mistake an error instead of a silent best effort.
# Resharding cutovers: new tablets are seen within 5 s, writes are buffered (not failed) while a
# primary switch runs, and buffering still applies to a second cutover 5 s after the first.
source "$(dirname "$0")/env.sh"
# Advertise what really serves: clients (SQLAlchemy) then use MariaDB's variable names, e.g.
# @@tx_isolation, which the tablets' MariaDB 10.11 knows (it has no @@transaction_isolation).
VTGATE_SERVER_VERSION="$(mariadbd --version | grep -oE '[0-9]+\.[0-9]+\.[0-9]+-MariaDB')-Vitess"
auth="$VT_DATA/vtgate-users.json"
umask 077
printf '{"vidstore": [{"Password": "%s", "UserData": "vidstore"}]}\n' "$VIDSTORE_DB_PASSWORD" >"$auth"
chown "$VT_USER" "$auth"
if ! running vtgate; then
  start_vt vtgate "$VT_LOGS/vtgate.log" "$VITESS_BIN/vtgate" "${TOPO_FLAGS[@]}" \
    --cell "$VT_CELL" --cells-to-watch "$VT_CELL" --tablet-types-to-wait PRIMARY,REPLICA \
    --bind-address 127.0.0.1 --grpc-bind-address 127.0.0.1 --port "$VTGATE_PORT" --grpc-port "$VTGATE_GRPC_PORT" \
    --mysql-server-bind-address 127.0.0.1 --mysql-server-port "$VTGATE_MYSQL_PORT" \
    --mysql-auth-server-impl static --mysql-auth-server-static-file "$auth" \
    --service-map grpc-vtgateservice --transaction-mode SINGLE --mysql-server-version "$VTGATE_SERVER_VERSION" \
    --tablet-refresh-interval 5s --enable-buffer --buffer-window 20s --buffer-max-failover-duration 30s \
    --buffer-min-time-between-failovers 5s \
    --log-format text
fi
wait_serving vtgate "http://127.0.0.1:$VTGATE_PORT/debug/status" "$VT_LOGS/vtgate.log"
echo ">> vtgate up: mysql://127.0.0.1:$VTGATE_MYSQL_PORT"
