#!/usr/bin/env bash
# The stack's supervisor (supervisord from .venv), started once; the up scripts start their programs
# through it (start_program in env.sh), and it restarts any that dies.
source "$(dirname "$0")/env.sh"
supervisor_running && exit 0
"$ROOT/.venv/bin/supervisord" -c "$SUPERVISOR_CONF" || fail "supervisord did not start"
wait_for 20 supervisord "$LOGS/supervisord.log" supervisor_running || fail "supervisord is not answering"
echo ">> supervisor up (make status; logs in $LOGS)"
