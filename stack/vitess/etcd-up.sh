#!/usr/bin/env bash
# The topology server: one etcd on loopback, and the cell's record in it.
source "$(dirname "$0")/env.sh"
if ! running etcd; then
  mkdir -p "$VT_DATA/etcd" && chown "$VT_USER" "$VT_DATA/etcd"
  start_vt etcd "$VT_LOGS/etcd.log" etcd --name vidstore --data-dir "$VT_DATA/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "vidstore=http://127.0.0.1:$ETCD_PEER_PORT"
fi
wait_serving etcd "http://127.0.0.1:$ETCD_PORT/health" "$VT_LOGS/etcd.log"
"$VITESS_BIN/vtctldclient" --server internal "${TOPO_FLAGS[@]}" GetCellInfo "$VT_CELL" >/dev/null 2>&1 ||
  "$VITESS_BIN/vtctldclient" --server internal "${TOPO_FLAGS[@]}" AddCellInfo \
    --root "/vitess/$VT_CELL" --server-address "127.0.0.1:$ETCD_PORT" "$VT_CELL"
echo ">> etcd up on 127.0.0.1:$ETCD_PORT (cell $VT_CELL)"
