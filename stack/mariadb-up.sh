#!/usr/bin/env bash
# A project-local MariaDB on 127.0.0.1:$MARIADB_PORT, data under .data/mariadb.
source "$(dirname "$0")/env.sh"
DIR="$DATA/mariadb"
PID="$RUN/mariadb.pid"
LOG="$LOGS/mariadb.log"
if pid_alive "$PID"; then echo ">> mariadb already running on $MARIADB_PORT"; exit 0; fi
if [ ! -d "$DIR/mysql" ]; then
  echo ">> mariadb-install-db into $DIR"
  mkdir -p "$DIR"
  mariadb-install-db --no-defaults --datadir="$DIR" --user="$(id -un)" \
    --auth-root-authentication-method=socket --skip-test-db >"$LOGS/mariadb-install.log" 2>&1
fi
# --user is only honoured (and required) when we are root.
mariadbd --no-defaults --datadir="$DIR" --user="$(id -un)" \
  --bind-address=127.0.0.1 --port="$MARIADB_PORT" --socket="$MARIADB_SOCKET" --pid-file="$PID" \
  --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
  --innodb-buffer-pool-size=256M --transaction-isolation=READ-COMMITTED --innodb-flush-log-at-trx-commit=1 \
  --max-connections=500 --log-error="$LOG" >/dev/null 2>&1 &
wait_for 60 "mariadb" "$LOG" mariadb --no-defaults --socket="$MARIADB_SOCKET" -uroot -e "select 1"
# The application's account: password from the local secrets file, loopback only.
mariadb --no-defaults --socket="$MARIADB_SOCKET" -uroot <<SQL
CREATE USER IF NOT EXISTS 'vidstore'@'127.0.0.1' IDENTIFIED BY '${VIDSTORE_DB_PASSWORD}';
ALTER USER 'vidstore'@'127.0.0.1' IDENTIFIED BY '${VIDSTORE_DB_PASSWORD}';
GRANT ALL PRIVILEGES ON \`vidstore%\`.* TO 'vidstore'@'127.0.0.1';
SQL
echo ">> mariadb up on 127.0.0.1:$MARIADB_PORT"
