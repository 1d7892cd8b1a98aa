#!/usr/bin/env bash
# A tablet's monitoring, following the cluster: `tablet-sd.sh add UID KEYSPACE SHARD` (called when the
# tablet starts) makes Prometheus scrape its vttablet and starts its MariaDB's exporter;
# `tablet-sd.sh remove UID` (when it stops) undoes both. File-based discovery picks the change up,
# so tablets added by a reshard are scraped without editing a file by hand.
source "$(dirname "$0")/env.sh"
source "$ROOT/stack/vitess/env.sh"
case "$1" in
  add)
    target vttablet "$2" "127.0.0.1:$(tablet_port "$2")" tablet="$2" keyspace="$3" shard="$4"
    bash "$ROOT/stack/monitoring/mysqld-exporter-up.sh" "$2" "$3" "$4"
    ;;
  remove)
    untarget vttablet "$2"
    untarget mysqld "mariadb-$2"
    stop_daemon "mariadb-$2-exporter"
    ;;
  *) echo "usage: tablet-sd.sh add UID KEYSPACE SHARD | remove UID" >&2; exit 2 ;;
esac
