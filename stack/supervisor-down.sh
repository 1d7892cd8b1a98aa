#!/usr/bin/env bash
# Stops every supervised program (each: TERM, then KILL after its stopwaitsecs), then supervisord.
source "$(dirname "$0")/env.sh"
supervisor_running || exit 0
supervise stop all >/dev/null || true
supervise shutdown >/dev/null || fail "supervisord did not shut down"
for _ in $(seq 100); do supervisor_running || break; sleep 0.1; done
for f in "$RUN"/*.pgid; do [ -e "$f" ] && kill_leftovers "$(basename "$f" .pgid)"; rm -f "$f"; done
echo ">> supervisor stopped"
