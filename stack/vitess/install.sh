#!/usr/bin/env bash
# What the Vitess cluster needs beyond the base stack: etcd (Debian), the Vitess binaries (built at
# the pinned version), and, when we are root, the system user the Vitess processes run as.
source "$(dirname "$0")/env.sh"
command -v etcd >/dev/null || {
  echo ">> apt-get install etcd-server"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq etcd-server etcd-client >/dev/null
}
if [ "$(id -u)" -eq 0 ] && ! id "$VT_USER" >/dev/null 2>&1; then
  echo ">> creating system user $VT_USER (Vitess refuses to run as root)"
  useradd --system --no-create-home --shell /usr/sbin/nologin "$VT_USER"
fi
bash "$ROOT/stack/vitess/build.sh"
# The Vitess user must reach the binaries and its data folder (nothing else of ours).
mkdir -p "$VT_DATA/run" "$VT_LOGS"
chown "$VT_USER" "$VT_DATA" "$VT_DATA/run" "$VT_LOGS"
chmod o+x "$ROOT" "$DATA"
