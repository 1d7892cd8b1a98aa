#!/usr/bin/env bash
# Builds vegeta (an open-loop load generator: requests at a fixed arrival rate, whatever the latency)
# at the pinned version into the cache outside the repo. Skipped when the binary exists.
set -euo pipefail
source "$(dirname "$0")/versions.sh"
[ -x "$VEGETA_BIN" ] && exit 0
command -v go >/dev/null || [ -x /usr/local/go/bin/go ] || { echo "!! Go is required to build vegeta" >&2; exit 1; }
export PATH="$PATH:/usr/local/go/bin"
dir="$(dirname "$VEGETA_BIN")"
mkdir -p "$dir"
echo ">> vegeta $VEGETA_VERSION: building from the Go module proxy"
GOBIN="$dir" CGO_ENABLED=0 go install -trimpath "github.com/tsenart/vegeta/v12@$VEGETA_VERSION" \
  || { echo "!! vegeta build failed" >&2; exit 1; }
mv "$dir/v12" "$VEGETA_BIN" 2>/dev/null || true
[ -x "$VEGETA_BIN" ] || { echo "!! vegeta binary missing after the build" >&2; exit 1; }
echo ">> vegeta built into $VEGETA_BIN"
