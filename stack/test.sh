#!/usr/bin/env bash
# The integration suite, once per backend: plain MariaDB (database vidstore_test, Redis db 1) and the
# Vitess cluster through vtgate (keyspaces vidstore + vidstore_lookup, Redis db 2). Extra arguments
# go to pytest; VIDSTORE_TEST_BACKENDS="mariadb" (or "vitess") runs one.
source "$(dirname "$0")/env.sh"
cd "$ROOT"
status=0
for backend in ${VIDSTORE_TEST_BACKENDS:-mariadb vitess}; do
  echo ">> test suite on $backend"
  if [ "$backend" = mariadb ]; then
    bash "$ROOT/stack/dba.sh" --backend mariadb --database vidstore_test apply
    db_url="${VIDSTORE_DATABASE_URL%/*}/vidstore_test" redis_db=1
  else
    db_url="mysql+aiomysql://vidstore:${VIDSTORE_DB_PASSWORD}@127.0.0.1:${VTGATE_MYSQL_PORT}/vidstore" redis_db=2
  fi
  (
    export VIDSTORE_TEST=1 VIDSTORE_TEST_BACKEND="$backend" VIDSTORE_DATABASE_URL="$db_url"
    export VIDSTORE_REDIS_URL="${VIDSTORE_REDIS_URL%/*}/$redis_db"
    if [ "$backend" = vitess ]; then
      export VIDSTORE_REPLICA_DATABASE_URL="$db_url@replica"
      # The tests wait for replicas with MASTER_GTID_WAIT on each shard's MariaDB pair.
      source "$ROOT/stack/vitess/env.sh"
      export VIDSTORE_TEST_REPLICATION="$(replication_pairs)"
    fi
    exec "$ROOT/.venv/bin/pytest" "$@"
  ) || status=1
done
exit $status
