#!/usr/bin/env bash
# The local alert receiver (api.alertlog, writing what it receives to $ALERT_LOG) and
# prometheus-alertmanager (Debian) routing to it by severity, from ops/alertmanager/alertmanager.yml.
source "$(dirname "$0")/env.sh"
if ! daemon_running alert-webhook; then
  start_daemon alert-webhook "$MON_LOGS/alert-webhook.log" "$ROOT/.venv/bin/python" -m api.alertlog \
    --port "$ALERT_WEBHOOK_PORT" --file "$ALERT_LOG" || { echo "!! alert receiver did not start" >&2; exit 1; }
fi
wait_healthy alert-webhook "http://127.0.0.1:$ALERT_WEBHOOK_PORT/" || exit 1
mkdir -p "$MON/alertmanager"
sed "s|@WEBHOOK@|http://127.0.0.1:$ALERT_WEBHOOK_PORT|g" "$ROOT/ops/alertmanager/alertmanager.yml" \
  >"$MON/alertmanager.yml"
if daemon_running alertmanager; then
  curl -sf -X POST "http://127.0.0.1:$ALERTMANAGER_PORT/-/reload" || { echo "!! alertmanager reload" >&2; exit 1; }
else
  # --cluster.listen-address= : a single instance, no gossip port.
  start_daemon alertmanager "$MON_LOGS/alertmanager.log" prometheus-alertmanager \
    --config.file="$MON/alertmanager.yml" --storage.path="$MON/alertmanager" \
    --web.listen-address="127.0.0.1:$ALERTMANAGER_PORT" --cluster.listen-address= \
    --web.external-url="http://127.0.0.1:$ALERTMANAGER_PORT/" \
    || { echo "!! alertmanager did not start" >&2; exit 1; }
fi
wait_healthy alertmanager "http://127.0.0.1:$ALERTMANAGER_PORT/-/ready" || exit 1
target alertmanager local "127.0.0.1:$ALERTMANAGER_PORT"
echo ">> alertmanager on http://127.0.0.1:$ALERTMANAGER_PORT (notifications: $ALERT_LOG)"
