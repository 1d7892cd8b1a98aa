#!/usr/bin/env bash
# A project-local Redis on 127.0.0.1:$REDIS_PORT with AOF (fsync every second), data under .data/redis,
# run by the supervisor.
source "$(dirname "$0")/env.sh"
mkdir -p "$DATA/redis"
start_program redis || fail "redis did not start"
wait_for 20 "redis" "$LOGS/redis.log" redis-cli -p "$REDIS_PORT" ping || fail "redis is not answering"
echo ">> redis up on 127.0.0.1:$REDIS_PORT"
