#!/usr/bin/env bash
# Live resharding of the local cluster: `reshard.sh KEYSPACE --to SHARDS [--dry-run|--reverse|--abort]`
# (`make reshard KEYSPACE=vidstore TO=-40,40-80,80-c0,c0-`). See sharding/reshard.py for the steps.
source "$(dirname "$0")/env.sh"
cd "$ROOT"
exec "$ROOT/.venv/bin/python" -m sharding.reshard --vtctldclient "$VITESS_BIN/vtctldclient" \
  --server "$VTCTLD_SERVER" --vtgate "127.0.0.1:$VTGATE_MYSQL_PORT" "$@"
