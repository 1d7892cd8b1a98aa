#!/usr/bin/env bash
# The whole local Vitess cluster, idempotently: etcd, vtctld, per tablet a MariaDB and an unmanaged
# vttablet, each shard's primary named, vtgate, then schema/ and vschema/ planned and applied by the
# DBA tool (from empty: every table; afterwards only what the files changed, safe changes only).
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
    bash "$ROOT/stack/vitess/mysql-up.sh" "$uid" primary || fail "mariadb $uid did not come up"
    sql "$uid" -e "CREATE DATABASE IF NOT EXISTS \`$keyspace\`" || fail "could not create $keyspace on $uid"
  else
    bash "$ROOT/stack/vitess/mysql-up.sh" "$uid" replica "${primary_of["$keyspace/$shard"]}" ||
      fail "mariadb $uid did not come up"
  fi
done
starting=()  # the vttablets start side by side; each one's exit status is checked
for t in "${TABLETS[@]}"; do
  read -r uid keyspace shard role <<<"$t"
  bash "$ROOT/stack/vitess/vttablet-up.sh" "$uid" "$keyspace" "$shard" &
  starting+=("$!:$uid")
done
for job in "${starting[@]}"; do
  wait "${job%%:*}" || fail "vttablet ${job#*:} did not come up (see above)"
done
for target in "${!primary_of[@]}"; do
  alias=$(tablet_alias "${primary_of[$target]}")
  # The primary is ours to name: MariaDB replication is managed outside Vitess (no PRS/ERS/VTOrc).
  if ! vtctldclient GetShard "$target" 2>/dev/null | grep -q "\"uid\": ${primary_of[$target]}\b"; then
    vtctldclient TabletExternallyReparented "$alias" >/dev/null || fail "could not name $alias primary of $target"
    echo ">> $target primary: $alias"
  fi
done
bash "$ROOT/stack/vitess/vtgate-up.sh" || fail "vtgate did not come up"
# A cluster made before the lookup was sharded keeps video_lookup in vidstore_lookup: move it live
# (MoveTables into vidstore_idx) before the DBA tool applies the files that name vidstore_idx.
if vtctldclient GetVSchema vidstore_lookup 2>/dev/null | grep -q '"video_lookup"'; then
  bash "$ROOT/stack/vitess/reshard.sh" vidstore_idx --move-tables video_lookup || fail "video_lookup was not moved"
fi
# Serving means vtgate routes to every tablet.
vtgate_sees_all() {
  [ "$(mariadb --no-defaults -h127.0.0.1 -P"$VTGATE_MYSQL_PORT" -uvidstore -p"$VIDSTORE_DB_PASSWORD" -N \
    -e "show vitess_tablets" | grep -c SERVING)" -ge ${#TABLETS[@]} ]
}
bash "$ROOT/stack/monitoring/vitess-sd.sh" add  # scrape targets: vtgate, vtctld, etcd
wait_for 60 "vtgate to see all ${#TABLETS[@]} tablets" "$VT_LOGS/vtgate.log" vtgate_sees_all ||
  fail "vtgate does not see every tablet serving"
bash "$ROOT/stack/dba.sh" apply --wait || fail "schema not applied (bash stack/dba.sh plan shows why)"
echo ">> vitess cluster up in $(( SECONDS - started ))s: vtgate mysql://127.0.0.1:$VTGATE_MYSQL_PORT, shards $SHARDS"
