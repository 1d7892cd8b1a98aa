# Pinned versions of what the stack builds from source, and where builds are cached (outside the repo,
# shared by every clone on the machine). Sourced by the build scripts.
VITESS_VERSION="v0.24.3"  # Vitess 24.0.3; v0.24.4 is refused by the Go module proxy here
# As root the cache is system-wide, where the unprivileged Vitess user can read the binaries.
if [ "$(id -u)" -eq 0 ]; then _cache=/var/cache/vidstore; else _cache="${XDG_CACHE_HOME:-$HOME/.cache}/vidstore"; fi
VIDSTORE_CACHE="${VIDSTORE_CACHE:-$_cache}"
# The patches we carry on Vitess (stack/vitess/patches/) are part of the cache key: a changed patch
# rebuilds the binaries instead of reusing ones built without it.
VITESS_PATCHES="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/vitess/patches"
VITESS_PATCH_ID="$(cat "$VITESS_PATCHES"/*.patch | sha256sum | cut -c1-8)"
VITESS_BIN="$VIDSTORE_CACHE/vitess-$VITESS_VERSION-p$VITESS_PATCH_ID/bin"
PROMTOOL="$VIDSTORE_CACHE/bin/promtool"
VERSITYGW_VERSION="v1.8.0"  # the S3 server (github.com/versity/versitygw), built from the Go module proxy
VERSITYGW_BIN="$VIDSTORE_CACHE/versitygw-$VERSITYGW_VERSION/versitygw"
VEGETA_VERSION="v12.13.0"  # open-loop HTTP load (github.com/tsenart/vegeta), built from the Go module proxy
VEGETA_BIN="$VIDSTORE_CACHE/vegeta-$VEGETA_VERSION/vegeta"
