# Sourced by every stack script: one place for ports, paths and the local secrets.
# Ports are our own (15xxx) so nothing clashes with system services; everything binds 127.0.0.1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${VIDSTORE_DATA:-$ROOT/.data}"
RUN="$DATA/run"
LOGS="$DATA/logs"
mkdir -p "$RUN" "$LOGS"

MARIADB_PORT="${VIDSTORE_MARIADB_PORT:-15306}"
REDIS_PORT="${VIDSTORE_REDIS_PORT:-15379}"
API_PORT="${VIDSTORE_API_PORT:-15080}"
FLUSHER_METRICS_PORT="${VIDSTORE_FLUSHER_METRICS_PORT:-15090}"
MARIADB_SOCKET="$RUN/mariadb.sock"

# Local secrets are generated once per checkout and kept under the ignored data folder;
# production injects the same variables from its secret store.
SECRETS="$DATA/secrets.env"
if [ ! -f "$SECRETS" ]; then
  umask 077
  {
    echo "VIDSTORE_DB_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
    echo "VIDSTORE_PLAYBACK_SIGNING_KEY=$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
    echo "VIDSTORE_API_KEY_PEPPER=$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
  } > "$SECRETS"
fi
set -a
# shellcheck disable=SC1090
. "$SECRETS"
set +a

export VIDSTORE_DATABASE_URL="${VIDSTORE_DATABASE_URL:-mysql+aiomysql://vidstore:${VIDSTORE_DB_PASSWORD}@127.0.0.1:${MARIADB_PORT}/vidstore}"
export VIDSTORE_REDIS_URL="${VIDSTORE_REDIS_URL:-redis://127.0.0.1:${REDIS_PORT}/0}"
export VIDSTORE_FLUSHER_METRICS_PORT="$FLUSHER_METRICS_PORT"

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
