#!/usr/bin/env bash
source "$(dirname "$0")/env.sh"
stop_program s3
