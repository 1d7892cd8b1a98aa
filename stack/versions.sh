# Pinned versions of what the stack builds from source, and where builds are cached (outside the repo,
# shared by every clone on the machine). Sourced by the build scripts.
VITESS_VERSION="v0.24.3"  # Vitess 24.0.3; v0.24.4 is refused by the Go module proxy here
VIDSTORE_CACHE="${VIDSTORE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vidstore}"
VITESS_BIN="$VIDSTORE_CACHE/vitess-$VITESS_VERSION/bin"
