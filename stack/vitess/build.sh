#!/usr/bin/env bash
# Builds the Vitess binaries we run, at the pinned version, into a cache outside the repo.
# `go install vitess.io/vitess/...@vX` is refused (Vitess's go.mod has `exclude` lines), so the build
# happens in a throwaway module that requires vitess.io/vitess, replaced by a copy of its source with
# our patches (stack/vitess/patches/) applied. Skipped when the binaries exist.
set -euo pipefail
source "$(dirname "$0")/../versions.sh"
BIN="$VITESS_BIN"
TOOLS=(vtgate vttablet vtctld vtctldclient)
missing=()
for t in "${TOOLS[@]}"; do [ -x "$BIN/$t" ] || missing+=("$t"); done
if [ ${#missing[@]} -eq 0 ]; then
  echo ">> vitess $VITESS_VERSION binaries cached in $BIN"
  exit 0
fi
command -v go >/dev/null || { echo "!! Go is required to build Vitess" >&2; exit 1; }
SCRATCH="$VIDSTORE_CACHE/vitess-build-$VITESS_VERSION-p$VITESS_PATCH_ID"
mkdir -p "$SCRATCH" "$BIN.partial"
cd "$SCRATCH"
[ -f go.mod ] || go mod init vtbuild >/dev/null 2>&1
go mod edit -dropreplace vitess.io/vitess  # fetch and copy the pristine module; replaced below
started=$SECONDS
echo ">> vitess $VITESS_VERSION: fetching modules (first time ~40 s)"
go get $(printf "vitess.io/vitess/go/cmd/%s@$VITESS_VERSION " "${missing[@]}") 2>&1 | tail -n 2
if [ ! -f src/.patched ]; then
  rm -rf src
  cp -r "$(go list -m -f '{{.Dir}}' "vitess.io/vitess")" src && chmod -R u+w src
  for p in "$VITESS_PATCHES"/*.patch; do
    echo ">> vitess: applying $(basename "$p")"
    patch -d src -p1 --forward --quiet <"$p" || { echo "!! $p does not apply to $VITESS_VERSION" >&2; exit 1; }
  done
  touch src/.patched
fi
go mod edit -replace vitess.io/vitess=./src
for t in "${missing[@]}"; do
  echo ">> vitess: building $t ($(( SECONDS - started ))s so far; a cold build of all takes ~5 min)"
  CGO_ENABLED=0 go build -trimpath -o "$BIN.partial/$t" "vitess.io/vitess/go/cmd/$t"
  mkdir -p "$BIN" && mv "$BIN.partial/$t" "$BIN/$t"
done
rmdir "$BIN.partial" 2>/dev/null || true
echo ">> vitess $VITESS_VERSION built in $(( SECONDS - started ))s into $BIN"
