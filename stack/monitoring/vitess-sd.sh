#!/usr/bin/env bash
# The Vitess cluster's fixed servers as scrape targets: `vitess-sd.sh add` (cluster up) or `remove`
# (cluster down). Tablets register themselves (tablet-sd.sh).
source "$(dirname "$0")/env.sh"
source "$ROOT/stack/vitess/env.sh"
if [ "$1" = add ]; then
  target vtgate local "127.0.0.1:$VTGATE_PORT"
  target vtctld local "127.0.0.1:$VTCTLD_PORT"
  target etcd local "127.0.0.1:$ETCD_PORT"
else
  for job in vtgate vtctld etcd; do untarget "$job" local; done
fi
