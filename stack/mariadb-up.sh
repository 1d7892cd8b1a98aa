#!/usr/bin/env bash
# A project-local MariaDB on 127.0.0.1:$MARIADB_PORT, data under .data/mariadb, run by the supervisor.
# Every step is idempotent: a first run that died half-way is completed by the next.
source "$(dirname "$0")/env.sh"
DIR="$DATA/mariadb"
LOG="$LOGS/mariadb.log"
if [ ! -d "$DIR/mysql" ]; then
  echo ">> mariadb-install-db into $DIR"
  rm -rf "$DIR" "$DIR.partial"  # a half-initialised folder from an interrupted run starts over
  # Creates root@localhost and <this OS user>@localhost, both authenticated by the socket's peer.
  mariadb-install-db --no-defaults --datadir="$DIR.partial" --user="$(id -un)" \
    --auth-root-authentication-method=socket --skip-test-db >"$LOGS/mariadb-install.log" 2>&1 ||
    fail "mariadb-install-db failed (see $LOGS/mariadb-install.log)"
  mv "$DIR.partial" "$DIR"
fi
start_program mariadb || fail "mariadb did not start"
wait_for 60 "mariadb" "$LOG" db_admin -e "select 1" || fail "mariadb is not answering"
# The application's account: password from the local secrets file, loopback only.
db_admin <<SQL || fail "could not create the application's account"
CREATE USER IF NOT EXISTS 'vidstore'@'127.0.0.1' IDENTIFIED BY '${VIDSTORE_DB_PASSWORD}';
ALTER USER 'vidstore'@'127.0.0.1' IDENTIFIED BY '${VIDSTORE_DB_PASSWORD}';
GRANT ALL PRIVILEGES ON \`vidstore%\`.* TO 'vidstore'@'127.0.0.1';
SQL
echo ">> mariadb up on 127.0.0.1:$MARIADB_PORT"
