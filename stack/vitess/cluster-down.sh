#!/usr/bin/env bash
# Stops the Vitess cluster (data stays under .data/vitess; `make clean` removes it). Each process
# gets SIGTERM, then SIGKILL after 10 s (MariaDB: 60 s, it flushes InnoDB).
source "$(dirname "$0")/env.sh"
[ -d "$VT_DATA/run" ] || exit 0
stop_pidfile "$VT_DATA/run/vtgate.pid" vtgate
for t in "${TABLETS[@]}"; do
  read -r uid _ <<<"$t"
  stop_pidfile "$VT_DATA/run/vttablet-$uid.pid" "vttablet $uid" &
  bash "$ROOT/stack/monitoring/tablet-sd.sh" remove "$uid" &
done
wait
for t in "${TABLETS[@]}"; do
  read -r uid _ <<<"$t"
  stop_pidfile "$(mysql_dir "$uid")/mysql.pid" "mariadb $uid" 60 &
done
wait
stop_pidfile "$VT_DATA/run/vtctld.pid" vtctld
stop_pidfile "$VT_DATA/run/etcd.pid" etcd
bash "$ROOT/stack/monitoring/vitess-sd.sh" remove
