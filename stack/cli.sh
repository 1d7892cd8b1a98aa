#!/usr/bin/env bash
# The vidstore command line with the local stack's environment: `stack/cli.sh flush --once`,
# `stack/cli.sh video-status ID ready`. (Sourcing env.sh into an interactive shell would set -e there.)
source "$(dirname "$0")/env.sh"
cd "$ROOT"
exec "$ROOT/.venv/bin/vidstore" "$@"
