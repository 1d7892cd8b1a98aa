#!/usr/bin/env bash
# prometheus-mysqld-exporter for one MariaDB, and its file-SD entry:
# `mysqld-exporter-up.sh main` (the plain MariaDB) or `mysqld-exporter-up.sh UID KEYSPACE SHARD` (a
# tablet's). Its account (PROCESS, REPLICATION CLIENT, SELECT, and SLAVE MONITOR, which MariaDB 10.11
# needs for SHOW SLAVE STATUS; loopback only; password VIDSTORE_MONITOR_DB_PASSWORD) is created on a
# writable server; a replica gets it through replication.
source "$(dirname "$0")/env.sh"
if [ "$1" = main ]; then
  name=mariadb-main mysql_port=$MARIADB_PORT port=$MYSQLD_EXPORTER_PORT labels=(role=standalone)
  admin() { db_admin "$@"; }
else
  source "$ROOT/stack/vitess/env.sh"
  uid=$1 name=mariadb-$1 mysql_port=$(mysql_port "$1") port=$(mysqld_exporter_port "$1")
  labels=(tablet="$uid" keyspace="$2" shard="$3")
  admin() { sql "$uid" "$@"; }
fi
if [ "$(admin -N -e 'SELECT @@read_only')" = 0 ]; then
  admin <<SQL || { echo "!! could not create the exporter's account on $name" >&2; exit 1; }
CREATE USER IF NOT EXISTS 'vidstore_monitor'@'127.0.0.1' IDENTIFIED BY '${VIDSTORE_MONITOR_DB_PASSWORD}'
  WITH MAX_USER_CONNECTIONS 3;
ALTER USER 'vidstore_monitor'@'127.0.0.1' IDENTIFIED BY '${VIDSTORE_MONITOR_DB_PASSWORD}';
GRANT PROCESS, REPLICATION CLIENT, SLAVE MONITOR, SELECT ON *.* TO 'vidstore_monitor'@'127.0.0.1';
SQL
fi
cnf="$MON_RUN/$name.my.cnf" new=$(mktemp "$MON_RUN/.cnf.XXXXXX")
printf '[client]\nuser=vidstore_monitor\npassword=%s\nhost=127.0.0.1\nport=%s\n' \
  "$VIDSTORE_MONITOR_DB_PASSWORD" "$mysql_port" >"$new"
if cmp -s "$new" "$cnf"; then rm -f "$new"; else mv "$new" "$cnf" && stop_daemon "$name-exporter"; fi  # read at start
if ! daemon_running "$name-exporter"; then
  start_daemon "$name-exporter" "$MON_LOGS/$name-exporter.log" prometheus-mysqld-exporter \
    --web.listen-address="127.0.0.1:$port" --config.my-cnf="$cnf" \
    || { echo "!! mysqld exporter for $name did not start" >&2; exit 1; }
fi
wait_healthy "$name-exporter" "http://127.0.0.1:$port/metrics" || exit 1
target mysqld "$name" "127.0.0.1:$port" "${labels[@]}"
echo ">> mysqld exporter for $name on 127.0.0.1:$port"
