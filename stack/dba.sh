#!/usr/bin/env bash
# The DBA's command (sharding/dba.py) pointed at this checkout's servers: the Vitess cluster through
# vtgate and vtctld, or with `--backend mariadb --database D` the plain MariaDB. Examples:
#   bash stack/dba.sh plan                 bash stack/dba.sh apply --wait
#   bash stack/dba.sh status CONTEXT       bash stack/dba.sh --backend mariadb --database vidstore apply
source "$(dirname "$0")/vitess/env.sh"
port=$VTGATE_MYSQL_PORT
[[ " $* " == *" --backend mariadb "* ]] && port=$MARIADB_PORT
exec "$ROOT/.venv/bin/python" -m sharding.dba --port "$port" --vtctldclient "$VITESS_BIN/vtctldclient" \
  --server "$VTCTLD_SERVER" "$@"
