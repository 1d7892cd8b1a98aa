#!/usr/bin/env bash
# vtctld: the cluster's control plane (vtctldclient talks to it).
source "$(dirname "$0")/env.sh"
if ! running vtctld; then
  start_vt vtctld "$VT_LOGS/vtctld.log" "$VITESS_BIN/vtctld" "${TOPO_FLAGS[@]}" --cell "$VT_CELL" \
    --service-map grpc-vtctl,grpc-vtctld --bind-address 127.0.0.1 --grpc-bind-address 127.0.0.1 \
    --port "$VTCTLD_PORT" --grpc-port "$VTCTLD_GRPC_PORT" --log-format text
fi
wait_serving vtctld "http://127.0.0.1:$VTCTLD_PORT/debug/status" "$VT_LOGS/vtctld.log"
echo ">> vtctld up on 127.0.0.1:$VTCTLD_GRPC_PORT"
