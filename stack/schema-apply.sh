#!/usr/bin/env bash
# Applies schema/ to plain MariaDB: every keyspace's DDL into one database (default: vidstore).
# The DDL is idempotent (CREATE TABLE IF NOT EXISTS); Vitess applies the same files per keyspace.
source "$(dirname "$0")/env.sh"
DB="${1:-vidstore}"
{
  echo "CREATE DATABASE IF NOT EXISTS \`$DB\`; USE \`$DB\`;"
  cat "$ROOT"/schema/*/*.sql
} | mariadb --no-defaults --socket="$MARIADB_SOCKET" -uroot
echo ">> schema applied to database $DB"
