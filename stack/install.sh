#!/usr/bin/env bash
# Installs what the stack needs on a fresh Debian machine; a second run only checks.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# Servers' binaries (mariadbd, nginx) live in /usr/sbin, outside a normal user's PATH.
case ":$PATH:" in *:/usr/sbin:*) ;; *) export PATH="$PATH:/usr/sbin:/sbin" ;; esac
need=()
command -v mariadbd >/dev/null || need+=(mariadb-server mariadb-client)
command -v redis-server >/dev/null || need+=(redis-server redis-tools)
command -v curl >/dev/null || need+=(curl)
command -v jq >/dev/null || need+=(jq)  # the README walkthrough reads JSON with jq
command -v ffmpeg >/dev/null || need+=(ffmpeg)  # the processing worker
command -v nginx >/dev/null || need+=(nginx)  # the playback edge
command -v haproxy >/dev/null || need+=(haproxy)  # the API's front door (stack/front/)
[ -f /usr/lib/nginx/modules/ngx_http_js_module.so ] || need+=(libnginx-mod-http-js)  # njs: the edge's checks
command -v chromium >/dev/null || need+=(chromium)  # the watch page's browser test, dashboard screenshots
command -v npm >/dev/null || need+=(npm)  # vendors hls.js for the watch page
command -v wrk >/dev/null || need+=(wrk)  # the benchmark's HTTP load generator
command -v docker-compose >/dev/null || need+=(docker-compose)  # validates docker-compose.vitess.yml
# Monitoring (stack/monitoring/ runs each from our config; Debian's own services stay disabled).
monitoring=(prometheus prometheus-alertmanager prometheus-mysqld-exporter prometheus-redis-exporter
  prometheus-node-exporter)
for pkg in "${monitoring[@]}"; do command -v "$pkg" >/dev/null || need+=("$pkg"); done
if [ ${#need[@]} -gt 0 ]; then
  echo ">> apt-get install ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}" >/dev/null
  if [ -d /run/systemd/system ]; then  # a booted systemd started the packaged services on their default ports
    $SUDO systemctl disable --now "${monitoring[@]}" haproxy >/dev/null 2>&1 || true
  fi
fi
VENV="$ROOT/.venv"
# Python packages at the versions requirements.lock pins (pip-compile --extra dev ... pyproject.toml,
# the command is in its header: rerun it after changing the dependencies), then the project itself.
stamp="$VENV/.installed-$(cat "$ROOT/pyproject.toml" "$ROOT/requirements.lock" | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo ">> python venv and dependencies (requirements.lock)"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -r "$ROOT/requirements.lock"
  "$VENV/bin/pip" install -q --no-deps -e "$ROOT"
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi
# hls.js for the watch page, from the npm registry at the version web/package-lock.json pins.
if [ ! -f "$ROOT/web/node_modules/hls.js/dist/hls.min.js" ]; then
  echo ">> hls.js (npm ci in web/)"
  npm ci --prefix "$ROOT/web" --no-audit --no-fund --loglevel=error
fi
# promtool (validates ops/prometheus/): taken out of Debian's prometheus package into the cache, so
# no Prometheus service gets installed or started.
source "$ROOT/stack/versions.sh"
if [ ! -x "$PROMTOOL" ]; then
  echo ">> promtool from Debian's prometheus package"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq prometheus 2>/dev/null && dpkg-deb -x prometheus_*.deb x)
  mkdir -p "$(dirname "$PROMTOOL")" && mv "$tmp/x/usr/bin/promtool" "$PROMTOOL"
  rm -rf "$tmp"
fi
echo ">> installed: $(mariadbd --version | cut -d' ' -f2-4), $(redis-server --version | cut -d' ' -f3), $("$VENV/bin/python" --version)"
