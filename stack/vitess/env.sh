# Sourced by the Vitess scripts: the cluster's layout, ports and the user its processes run as.
# One cell, etcd for the topology, vtctld, vtgate, and per shard a MariaDB primary and a GTID replica,
# each with an unmanaged vttablet. Ports are our own (15xxx-17xxx) and everything binds 127.0.0.1.
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
source "$ROOT/stack/versions.sh"

VT_DATA="$DATA/vitess"
VT_LOGS="$VT_DATA/logs"
VT_CELL=zone1
ETCD_PORT=15400
ETCD_PEER_PORT=15401
VTCTLD_PORT=15410
VTCTLD_GRPC_PORT=15411
VTGATE_PORT=15420
VTGATE_GRPC_PORT=15421
VTCTLD_SERVER="127.0.0.1:$VTCTLD_GRPC_PORT"
TOPO_FLAGS=(--topo-implementation etcd2 --topo-global-server-address "127.0.0.1:$ETCD_PORT"
  --topo-global-root /vitess/global)

# "uid keyspace shard role": the primary of each shard comes before its replica.
TABLETS=(
  "100 vidstore_lookup 0 primary"
  "101 vidstore_lookup 0 replica"
  "200 vidstore -80 primary"
  "201 vidstore -80 replica"
  "300 vidstore 80- primary"
  "301 vidstore 80- replica"
  "400 vidstore_idx - primary"
  "401 vidstore_idx - replica"
)
# After a reshard the layout is the data folder's (written by `make reshard`, sharding/reshard.py).
LAYOUT_FILE="$VT_DATA/tablets"
if [ -s "$LAYOUT_FILE" ]; then mapfile -t TABLETS < <(grep -v '^#' "$LAYOUT_FILE"); fi
# The shards of the sharded keyspace `vidstore` (the flusher reads them from vtgate, not from here).
SHARDS=$(printf '%s\n' "${TABLETS[@]}" | awk '$2 == "vidstore" && $4 == "primary" {print $3}' | paste -sd,)

tablet_alias() { printf '%s-%010d' "$VT_CELL" "$1"; }
mysql_port() { echo $((17000 + $1)); }
tablet_port() { echo $((16000 + $1)); }
tablet_grpc_port() { echo $((16500 + $1)); }
mysql_dir() { echo "$VT_DATA/mysql-$1"; }
mysql_socket() { echo "$(mysql_dir "$1")/mysql.sock"; }

# Vitess refuses to run as root: as root, its processes (and their MariaDB) run as a system user.
if [ "$(id -u)" -eq 0 ]; then
  VT_USER=vidstore-vt
  as_vt() { runuser -u "$VT_USER" -- "$@"; }
  SQL_USER=root  # root@localhost authenticates over the socket by OS user (unix_socket)
else
  VT_USER="$(id -un)"
  as_vt() { "$@"; }
  SQL_USER="$VT_USER"
fi
sql() {  # sql UID [args...]: the tablet's MariaDB as an administrator, over its socket
  local uid=$1; shift
  mariadb --no-defaults --socket="$(mysql_socket "$uid")" -u"$SQL_USER" "$@"
}
vtctldclient() { "$VITESS_BIN/vtctldclient" --server "$VTCTLD_SERVER" "$@"; }

# Start a long-running process as the Vitess user in a session of its own (so a Ctrl-C on `make run`
# leaves the cluster up); the process writes its own pid file before it execs.
start_vt() {  # start_vt NAME LOG CMD...: returns once the process has written its pid file
  local name=$1 log=$2 pidfile="$VT_DATA/run/$1.pid"; shift 2
  # setsid -f returns before the child writes its pid: without this wait, wait_serving could read a
  # missing pid file as "died" (seen on a loaded machine). The marker keeps an earlier run's shutdown
  # lines, appended to the same log, from passing for this run's.
  rm -f "$pidfile"
  echo "=== start_vt $name $(date -u +%FT%TZ)" >>"$log"
  as_vt setsid -f bash -c 'echo $$ >"$0.partial" && mv "$0.partial" "$0"; ulimit -n 20000 2>/dev/null || true; exec "$@"' \
    "$pidfile" "$@" >>"$log" 2>&1 </dev/null
  local deadline=$((SECONDS + 20))
  until [ -s "$pidfile" ]; do
    [ $SECONDS -lt $deadline ] || { echo "!! $name: no pid file after 20 s" >&2; return 1; }
    sleep 0.05
  done
}
running() { pid_alive "$VT_DATA/run/$1.pid"; }
http_ok() { curl -sf -o /dev/null "$1"; }
wait_serving() {  # wait_serving NAME URL LOG: until URL answers; fail at once if the process died
  local name=$1 url=$2 log=$3 deadline=$((SECONDS + 90))
  until http_ok "$url"; do
    if ! running "$name" || [ $SECONDS -ge $deadline ]; then
      echo "!! $name is not serving; last log lines:" >&2
      grep -v '^ *--' "$log" | tail -n 15 >&2
      return 1
    fi
    sleep 0.2
  done
}
replication_pairs() {  # "primary_socket>replica_socket,..." for every shard
  local t uid keyspace shard role pairs=() ; declare -A primary
  for t in "${TABLETS[@]}"; do
    read -r uid keyspace shard role <<<"$t"
    if [ "$role" = primary ]; then primary["$keyspace/$shard"]=$uid
    else pairs+=("$(mysql_socket "${primary["$keyspace/$shard"]}")>$(mysql_socket "$uid")"); fi
  done
  (IFS=,; echo "${pairs[*]}")
}
