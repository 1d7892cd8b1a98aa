#!/usr/bin/env bash
# The DBA's command: validate vschema/ against schema/, then apply both to the cluster through vtctld.
# `schema-apply.sh --dry-run` validates and shows what would be applied, changing nothing.
source "$(dirname "$0")/env.sh"
cd "$ROOT"
exec "$ROOT/.venv/bin/python" -m sharding.dba apply --vtctldclient "$VITESS_BIN/vtctldclient" \
  --server "$VTCTLD_SERVER" "$@"
