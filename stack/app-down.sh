#!/usr/bin/env bash
source "$(dirname "$0")/env.sh"
for name in edge api worker flusher; do stop_program "$name"; done
