#!/usr/bin/env bash
# Applies schema/ to plain MariaDB: every keyspace's DDL into one database (default: vidstore).
# The DDL is idempotent (CREATE TABLE IF NOT EXISTS); Vitess applies the same files per keyspace.
source "$(dirname "$0")/env.sh"
DB="${1:-vidstore}"
{
  echo "CREATE DATABASE IF NOT EXISTS \`$DB\`; USE \`$DB\`;"
  cat "$ROOT"/schema/*/*.sql
} | db_admin || fail "could not apply the schema to $DB"
echo ">> schema applied to database $DB"
