#!/usr/bin/env bash
# Prints the SQL creating Vitess's MySQL accounts, idempotently: `vt-users.sh HOST REPL_HOST`. HOST is where the
# vttablet connects from (localhost = the socket), REPL_HOST where replicas do. Passwords come from
# VIDSTORE_VT_DB_PASSWORD and VIDSTORE_VT_REPL_PASSWORD. Used by mysql-up.sh and the compose file.
set -euo pipefail
host=$1 repl_host=$2
for user in vt_dba vt_app vt_appdebug vt_allprivs vt_filtered; do
  echo "CREATE USER IF NOT EXISTS '$user'@'$host' IDENTIFIED BY '${VIDSTORE_VT_DB_PASSWORD}';"
done
cat <<SQL
GRANT ALL ON *.* TO 'vt_dba'@'$host' WITH GRANT OPTION;
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, PROCESS, FILE, REFERENCES, INDEX, ALTER,
  SHOW DATABASES, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, REPLICATION CLIENT, CREATE VIEW,
  SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, CREATE USER, EVENT, TRIGGER ON *.* TO 'vt_app'@'$host';
GRANT SELECT, SHOW DATABASES, PROCESS ON *.* TO 'vt_appdebug'@'$host';
GRANT ALL ON *.* TO 'vt_allprivs'@'$host';
GRANT ALL ON *.* TO 'vt_filtered'@'$host';
CREATE USER IF NOT EXISTS 'vt_repl'@'$repl_host' IDENTIFIED BY '${VIDSTORE_VT_REPL_PASSWORD}';
GRANT REPLICATION SLAVE ON *.* TO 'vt_repl'@'$repl_host';
SQL
