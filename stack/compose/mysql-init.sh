#!/bin/bash
# Run once by the mysql image's entrypoint: Vitess's accounts (reachable over the compose network)
# and the keyspace's database.
set -euo pipefail
{
  echo "SET sql_log_bin = 0;"
  VIDSTORE_VT_DB_PASSWORD="$VT_DB_PASSWORD" VIDSTORE_VT_REPL_PASSWORD="$VT_REPL_PASSWORD" bash /vt-users.sh % %
  echo "CREATE DATABASE IF NOT EXISTS \`${KEYSPACE}\`;"
} | mysql -uroot -p"$MYSQL_ROOT_PASSWORD"
