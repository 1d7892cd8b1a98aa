#!/usr/bin/env bash
# The whole local Vitess cluster, idempotently: etcd, vtctld, per tablet a MariaDB and an unmanaged
# vttablet, each shard's primary named, schema/ and vschema/ applied, then vtgate.
source "$(dirname "$0")/env.sh"
started=$SECONDS
bash "$ROOT/stack/vitess/install.sh"
bash "$ROOT/stack/vitess/etcd-up.sh"
bash "$ROOT/stack/vitess/vtctld-up.sh"
for keyspace in $(printf '%s\n' "${TABLETS[@]}" | awk '{print $2}' | sort -u); do
  vtctldclient GetKeyspace "$keyspace" >/dev/null 2>&1 ||
    vtctldclient CreateKeyspace --durability-policy=none "$keyspace" >/dev/null
done

declare -A primary_of
for t in "${TABLETS[@]}"; do
  read -r uid keyspace shard role <<<"$t"
  if [ "$role" = primary ]; then
    primary_of["$keyspace/$shard"]=$uid
    bash "$ROOT/stack/vitess/mysql-up.sh" "$uid" primary
    sql "$uid" -e "CREATE DATABASE IF NOT EXISTS \`$keyspace\`"
  else
    bash "$ROOT/stack/vitess/mysql-up.sh" "$uid" replica "${primary_of["$keyspace/$shard"]}"
  fi
done
for t in "${TABLETS[@]}"; do
  read -r uid keyspace shard role <<<"$t"
  bash "$ROOT/stack/vitess/vttablet-up.sh" "$uid" "$keyspace" "$shard" &
done
wait
for target in "${!primary_of[@]}"; do
  alias=$(tablet_alias "${primary_of[$target]}")
  # The primary is ours to name: MariaDB replication is managed outside Vitess (no PRS/ERS/VTOrc).
  if ! vtctldclient GetShard "$target" 2>/dev/null | grep -q "\"uid\": ${primary_of[$target]}\b"; then
    vtctldclient TabletExternallyReparented "$alias" >/dev/null
    echo ">> $target primary: $alias"
  fi
done
# A cluster made before the lookup was sharded keeps video_lookup in vidstore_lookup: move it live
# (MoveTables into vidstore_idx) before the VSchemas that name vidstore_idx are applied.
if vtctldclient GetVSchema vidstore_lookup 2>/dev/null | grep -q '"video_lookup"'; then
  bash "$ROOT/stack/vitess/vtgate-up.sh"
  bash "$ROOT/stack/vitess/reshard.sh" vidstore_idx --move-tables video_lookup
fi
bash "$ROOT/stack/vitess/schema-apply.sh"
bash "$ROOT/stack/vitess/vtgate-up.sh"
# Serving means vtgate routes to every tablet.
vtgate_sees_all() {
  [ "$(mariadb --no-defaults -h127.0.0.1 -P"$VTGATE_MYSQL_PORT" -uvidstore -p"$VIDSTORE_DB_PASSWORD" -N \
    -e "show vitess_tablets" | grep -c SERVING)" -ge ${#TABLETS[@]} ]
}
wait_for 60 "vtgate to see all ${#TABLETS[@]} tablets" "$VT_LOGS/vtgate.log" vtgate_sees_all
echo ">> vitess cluster up in $(( SECONDS - started ))s: vtgate mysql://127.0.0.1:$VTGATE_MYSQL_PORT, shards $SHARDS"
