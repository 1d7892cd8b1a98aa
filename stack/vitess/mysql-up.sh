#!/usr/bin/env bash
# The MariaDB under one tablet: `mysql-up.sh UID primary` or `mysql-up.sh UID replica PRIMARY_UID`.
# Binlogs with GTIDs; a replica follows its primary by MariaDB replication (MASTER_USE_GTID),
# because Vitess cannot manage replication on MariaDB.
source "$(dirname "$0")/env.sh"
uid=$1 role=$2 primary_uid=${3:-}
dir=$(mysql_dir "$uid")
cnf="$dir/my.cnf"
log="$VT_LOGS/mysql-$uid.log"
# Every step is idempotent and checked, so a run that died half-way is repaired by the next: the data
# folder is initialised until it is complete, the accounts and the replication are set up when missing.
if [ ! -d "$dir/data/mysql" ] && ! pid_alive "$dir/mysql.pid"; then
  rm -rf "$dir/data"  # an interrupted mariadb-install-db starts over
  mkdir -p "$dir/data" "$dir/tmp"
  chown -R "$VT_USER" "$dir"
  chmod 700 "$dir"
  cat >"$cnf" <<CNF
[mysqld]
datadir = $dir/data
tmpdir = $dir/tmp
socket = $dir/mysql.sock
pid-file = $dir/mysql.pid
log-error = $log
bind-address = 127.0.0.1
port = $(mysql_port "$uid")
server-id = $uid
log-bin = binlog
relay-log = relay
binlog_format = ROW
log_slave_updates = 1
gtid_strict_mode = 1
skip-name-resolve
character_set_server = utf8mb4
collation_server = utf8mb4_general_ci
innodb_buffer_pool_size = 64M
transaction_isolation = READ-COMMITTED
max_connections = 300
read_only = $([ "$role" = replica ] && echo 1 || echo 0)
CNF
  as_vt mariadb-install-db --defaults-file="$cnf" --auth-root-authentication-method=socket \
    --skip-test-db >"$VT_LOGS/mysql-$uid-install.log" 2>&1 || fail "mariadb-install-db $uid failed"
fi
touch "$log" && chown "$VT_USER" "$log"
if ! pid_alive "$dir/mysql.pid"; then
  as_vt setsid -f mariadbd --defaults-file="$cnf" >/dev/null 2>&1 </dev/null || fail "mariadbd $uid did not start"
fi
wait_for 60 "mariadb $uid" "$log" sql "$uid" -e "select 1" || fail "mariadb $uid is not answering"
if [ "$role" = primary ] &&
  [ "$(sql "$uid" -N -e "SELECT COUNT(*) FROM mysql.user WHERE user LIKE 'vt\_%'")" -lt 6 ]; then
  # Vitess's accounts (binlogged, so replicas get them through replication): socket-only, except
  # the replication account, which replicas use over loopback TCP.
  bash "$ROOT/stack/vitess/vt-users.sh" localhost 127.0.0.1 | sql "$uid" || fail "accounts on $uid"
fi
if [ "$role" = replica ] && [ -z "$(sql "$uid" -N -e "SHOW SLAVE STATUS")" ]; then
  sql "$uid" <<SQL || fail "could not set up replication on $uid"
CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$(mysql_port "$primary_uid"),
  MASTER_USER='vt_repl', MASTER_PASSWORD='${VIDSTORE_VT_REPL_PASSWORD}', MASTER_USE_GTID=slave_pos,
  MASTER_CONNECT_RETRY=1;
START SLAVE;
SQL
fi
echo ">> mariadb $uid ($role) up on 127.0.0.1:$(mysql_port "$uid")"
