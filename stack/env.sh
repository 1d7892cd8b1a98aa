# Sourced by every stack script: one place for ports, paths and the local secrets.
# Ports are our own (15xxx) so nothing clashes with system services; everything binds 127.0.0.1.
set -euo pipefail
# Servers' binaries (mariadbd, nginx) live in /usr/sbin, outside a normal user's PATH.
case ":$PATH:" in *:/usr/sbin:*) ;; *) export PATH="$PATH:/usr/sbin:/sbin" ;; esac
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${VIDSTORE_DATA:-$ROOT/.data}"
RUN="$DATA/run"
LOGS="$DATA/logs"
mkdir -p "$RUN" "$LOGS"

MARIADB_PORT="${VIDSTORE_MARIADB_PORT:-15306}"
REDIS_PORT="${VIDSTORE_REDIS_PORT:-15379}"
API_PORT="${VIDSTORE_API_PORT:-15080}"
FLUSHER_METRICS_PORT="${VIDSTORE_FLUSHER_METRICS_PORT:-15090}"
WORKER_METRICS_PORT="${VIDSTORE_WORKER_METRICS_PORT:-15091}"
S3_PORT="${VIDSTORE_S3_PORT:-15900}"
EDGE_PORT="${VIDSTORE_EDGE_PORT:-15081}"
FRONT_PORT="${VIDSTORE_FRONT_PORT:-15082}"  # the API's front door (stack/front/haproxy.cfg)
FRONT_METRICS_PORT="${VIDSTORE_FRONT_METRICS_PORT:-15092}"
# The front connects to the API from an address of its own: the one address whose X-Forwarded-For
# the API believes. On loopback any local process could bind it too; in production only the load
# balancers can reach the API's port, and VIDSTORE_TRUSTED_PROXIES lists just their addresses.
export VIDSTORE_FRONT_SOURCE="${VIDSTORE_FRONT_SOURCE:-127.0.0.2}"
FRONT_SOURCE="$VIDSTORE_FRONT_SOURCE"
export VIDSTORE_TRUSTED_PROXIES="${VIDSTORE_TRUSTED_PROXIES:-$FRONT_SOURCE}"
MARIADB_SOCKET="$RUN/mariadb.sock"

# Local secrets are generated once per checkout and kept under the ignored data folder;
# production injects the same variables from its secret store.
SECRETS="$DATA/secrets.env"
add_secret() {  # add_secret NAME BYTES [base64|token]: generated once, kept in the secrets file
  grep -q "^$1=" "$SECRETS" 2>/dev/null && return 0
  if [ "${3:-token}" = base64 ]; then
    echo "$1=$(head -c "$2" /dev/urandom | base64 | tr -d '\n')"
  else
    echo "$1=$(head -c "$2" /dev/urandom | base64 | tr -d '/+=\n')"
  fi >>"$SECRETS"
}
(
  umask 077
  add_secret VIDSTORE_DB_PASSWORD 18
  add_secret VIDSTORE_PLAYBACK_SIGNING_KEY 32 base64
  add_secret VIDSTORE_API_KEY_PEPPER 32 base64
  add_secret VIDSTORE_EDGE_SECRET 30
  add_secret VIDSTORE_VT_REPL_PASSWORD 18
  add_secret VIDSTORE_VT_DB_PASSWORD 18
  add_secret VIDSTORE_S3_ACCESS_KEY 15
  add_secret VIDSTORE_S3_SECRET_KEY 30
  add_secret VIDSTORE_MONITOR_DB_PASSWORD 18  # the MariaDB exporters' account (stack/monitoring)
)
set -a
# shellcheck disable=SC1090
. "$SECRETS"
set +a

# VIDSTORE_BACKEND=vitess (`make run VITESS=1`) points the app at vtgate: writes and read-your-writes
# on the primaries, feeds on `@replica`, and the flusher's shard map; otherwise at plain MariaDB.
VTGATE_MYSQL_PORT="${VIDSTORE_VTGATE_MYSQL_PORT:-15307}"
if [ "${VIDSTORE_BACKEND:-mariadb}" = vitess ]; then
  _db="mysql+aiomysql://vidstore:${VIDSTORE_DB_PASSWORD}@127.0.0.1:${VTGATE_MYSQL_PORT}"
  export VIDSTORE_DATABASE_URL="${VIDSTORE_DATABASE_URL:-$_db/vidstore}"
  export VIDSTORE_REPLICA_DATABASE_URL="${VIDSTORE_REPLICA_DATABASE_URL:-$_db/vidstore@replica}"
else
  export VIDSTORE_DATABASE_URL="${VIDSTORE_DATABASE_URL:-mysql+aiomysql://vidstore:${VIDSTORE_DB_PASSWORD}@127.0.0.1:${MARIADB_PORT}/vidstore}"
fi
export VIDSTORE_S3_ENDPOINT="${VIDSTORE_S3_ENDPOINT:-http://127.0.0.1:${S3_PORT}}"
export VIDSTORE_CDN_BASE_URL="${VIDSTORE_CDN_BASE_URL:-http://127.0.0.1:${EDGE_PORT}}"
export VIDSTORE_REDIS_URL="${VIDSTORE_REDIS_URL:-redis://127.0.0.1:${REDIS_PORT}/0}"
export VIDSTORE_FLUSHER_METRICS_PORT="$FLUSHER_METRICS_PORT"
# Playback keys "id:base64,..." (the first signs, all verify; README: key rotation), read by the API
# and the edge alike; by default the one generated key, as id 1.
export VIDSTORE_PLAYBACK_KEYS="${VIDSTORE_PLAYBACK_KEYS:-1:$VIDSTORE_PLAYBACK_SIGNING_KEY}"

# Wait for a command to succeed, polling; fail loudly with the log when it never does.
wait_for() {  # wait_for SECONDS DESCRIPTION LOGFILE CMD...
  local limit=$1 what=$2 log=$3; shift 3
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      echo "!! $what did not come up in ${limit}s; last log lines:" >&2
      tail -n 30 "$log" >&2 || true
      return 1
    fi
    sleep 0.2
  done
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
fail() { echo "!! $*" >&2; exit 1; }
stop_pidfile() {  # stop_pidfile FILE NAME [SECONDS]: TERM, wait (default 10 s), then KILL
  local file=$1 name=$2 limit=${3:-10} pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq $((limit * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null && echo "!! $name did not stop in ${limit}s: killed" >&2
    echo ">> $name stopped"
  fi
  rm -f "$file"
}

# The local MariaDB's administrator: the invoking OS user's own account over the socket
# (unix_socket authentication; mariadb-install-db creates it for the user who ran it), so
# neither root nor a password is needed.
db_admin() { mariadb --no-defaults --socket="$MARIADB_SOCKET" -u"$(id -un)" "$@"; }

# The supervisor (stack/supervisor/): `supervise start|stop|status NAME...` is supervisorctl on the
# stack's supervisord; its config reads these paths from the environment.
export VIDSTORE_ROOT="$ROOT" VIDSTORE_RUN="$RUN" VIDSTORE_LOGS="$LOGS"
SUPERVISOR_CONF="$ROOT/stack/supervisor/supervisord.conf"
supervise() { "$ROOT/.venv/bin/supervisorctl" -c "$SUPERVISOR_CONF" "$@"; }
supervisor_running() { [ "$(supervise pid 2>/dev/null)" -gt 0 ] 2>/dev/null; }
start_program() {  # start_program NAME: under the supervisor (started if need be); RUNNING after 1 s
  bash "$ROOT/stack/supervisor-up.sh" >/dev/null || return 1
  # A program added to stack/supervisor/programs/ since this supervisord started: load just it
  # (`update` would also restart the programs whose files changed).
  if [[ "$(supervise status "$1" 2>&1)" == *"no such process"* ]]; then
    supervise reread >/dev/null && supervise add "$1" >/dev/null
  fi
  supervise start "$1" >/dev/null 2>&1 || supervise status "$1" | grep -q RUNNING ||
    { echo "!! $1 did not start:" >&2; supervise status "$1" >&2; tail -n 20 "$LOGS/$1.log" >&2; return 1; }
}
kill_leftovers() {  # kill_leftovers NAME: what remains of a program's last process group (ours only)
  local pgid
  pgid=$(cat "$RUN/$1.pgid" 2>/dev/null) || return 0
  [ "$pgid" != "$$" ] && pkill -KILL -g "$pgid" -u "$(id -u)" -f -- "$ROOT" 2>/dev/null || true
}
stop_program() {  # stop_program NAME: TERM, then KILL after the program's stopwaitsecs
  supervisor_running || return 0
  if supervise status "$1" 2>/dev/null | grep -qE 'RUNNING|STARTING|BACKOFF'; then
    supervise stop "$1" >/dev/null && echo ">> $1 stopped"
  fi
}
