#!/usr/bin/env bash
source "$(dirname "$0")/env.sh"
bash "$ROOT/stack/monitoring/app-sd.sh" remove
for name in front edge api worker flusher; do stop_program "$name"; done
