# Sourced by the monitoring scripts: ports, folders and the helpers that start and stop its servers.
# Ports are our own (1595x; a tablet's MariaDB exporter on 18000+uid), everything binds 127.0.0.1,
# data under .data/monitoring. Debian's packages are installed, never started as services: each runs
# from our config, in a session of its own, with a pid file (ready for a supervisor).
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
MON="$DATA/monitoring"
MON_RUN="$MON/run"
MON_LOGS="$MON/logs"
TARGETS="$MON/targets"  # file-based service discovery: one JSON file per target, by job
mkdir -p "$MON_RUN" "$MON_LOGS" "$TARGETS"
PROMETHEUS_PORT="${VIDSTORE_PROMETHEUS_PORT:-15950}"
ALERTMANAGER_PORT="${VIDSTORE_ALERTMANAGER_PORT:-15951}"
ALERT_WEBHOOK_PORT="${VIDSTORE_ALERT_WEBHOOK_PORT:-15952}"
NODE_EXPORTER_PORT="${VIDSTORE_NODE_EXPORTER_PORT:-15953}"
REDIS_EXPORTER_PORT="${VIDSTORE_REDIS_EXPORTER_PORT:-15954}"
MYSQLD_EXPORTER_PORT="${VIDSTORE_MYSQLD_EXPORTER_PORT:-15955}"  # the plain MariaDB's
mysqld_exporter_port() { echo $((18000 + $1)); }                # a tablet's: 18000 + uid
ALERT_LOG="$MON/alerts.log"  # what Alertmanager delivered, one JSON notification a line

start_daemon() {  # start_daemon NAME LOG CMD...: in its own session, its pid file written before exec
  local name=$1 log=$2; shift 2
  setsid -f bash -c 'echo $$ >"$0"; exec "$@"' "$MON_RUN/$name.pid" "$@" >>"$log" 2>&1 </dev/null
}
daemon_running() { pid_alive "$MON_RUN/$1.pid"; }
stop_daemon() { stop_pidfile "$MON_RUN/$1.pid" "$1"; }
wait_healthy() {  # wait_healthy NAME URL: until URL answers 2xx; fail at once if the process died
  local name=$1 url=$2 deadline=$((SECONDS + 60))
  until curl -sf -o /dev/null "$url"; do
    if ! daemon_running "$name" || [ $SECONDS -ge $deadline ]; then
      echo "!! $name is not healthy ($url); last log lines:" >&2
      tail -n 15 "$MON_LOGS/$name.log" >&2 || true
      return 1
    fi
    sleep 0.2
  done
}
target() {  # target JOB NAME ADDRESS [LABEL=VALUE...]: write (atomically) one file-SD entry
  local job=$1 name=$2 address=$3 labels="" tmp; shift 3
  for kv in "$@"; do labels+="${labels:+, }\"${kv%%=*}\": \"${kv#*=}\""; done
  tmp=$(mktemp "$TARGETS/.tmp.XXXXXX")
  printf '[{"targets": ["%s"], "labels": {%s}}]\n' "$address" "$labels" >"$tmp"
  chmod 644 "$tmp" && mv "$tmp" "$TARGETS/$job-$name.json"
}
untarget() { rm -f "$TARGETS/$1-$2.json"; }  # untarget JOB NAME
