#!/usr/bin/env bash
# The fault drill: on loopback, three pixelpost nodes behind nginx
# (upstream, round robin), a Redis Cluster of three masters with one
# replica each (AOF everysec, cluster-node-timeout 2000 ms) and a
# ClickHouse cluster of two shards with the Distributed table (created
# with pixelpost clickhouse-ddl); the realistic mix at a fixed rate while
# faults are injected at random (seeded) times: kill -9 of a node
# (restarted on its data dir), kill -9 of the Redis master of the
# account's slot (its replica is promoted), a ClickHouse shard stopped
# for 30 s, a node's hits log filled to its cap, a node cut from Redis
# for 10 s. Then reconcile --repair and the books; it prints the fault
# table and exits non-zero when the books do not balance.
#
# Usage: bench/drill.sh [minutes (10)]
#   DRILL_RATE   requests per second through nginx (100)
#   DRILL_SEED   seed of the faults' times and the mix (default: the clock)
#   DRILL_SAVE=1 also write the output to bench/results/<date>-drill-<minutes>m.txt
#   DRILL_KEEP_LOGS=1 keep the processes' logs (their directory is printed)
# Installs redis, clickhouse and nginx with apt when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-10}
if [ "${DRILL_SAVE:-}" = 1 ]; then
  mkdir -p bench/results
  out="bench/results/$(date -u +%Y%m%d-%H%M)-drill-${minutes}m.txt"
  exec > >(tee "$out") 2>&1
fi

. scripts/services.sh
work=$(mktemp -d -t pixelpost-drill.XXXXXX)
export PIXELPOST_TEST_SERVICES_DIR="$work/services"
mkdir -p "$PIXELPOST_TEST_SERVICES_DIR"
cleanup() {
  local rc=$1 f pid
  # Whatever the drill left running (it stops its processes itself unless
  # it was killed): the pid files it keeps.
  for f in "$work"/drill/pids/*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill -TERM "$pid" 2>/dev/null || true
  done
  sleep 1
  for f in "$work"/drill/pids/*.pid; do
    [ -f "$f" ] || continue
    kill -KILL "$(cat "$f")" 2>/dev/null || true
  done
  if [ "$rc" -ne 0 ] && [ -d "$work/drill/logs" ]; then
    for f in "$work"/drill/logs/node*.log; do
      [ -f "$f" ] || continue
      echo "== last lines of $f" >&2
      tail -n 15 "$f" >&2
    done
  fi
  if [ "${DRILL_KEEP_LOGS:-}" = 1 ] && [ -d "$work/drill/logs" ]; then
    local kept
    kept=$(mktemp -d -t pixelpost-drill-logs.XXXXXX)
    cp -r "$work/drill/logs" "$kept/" && echo "drill logs kept in $kept/logs" >&2
  fi
  services_stop
  rm -rf "$work"
}
trap 'rc=$?; cleanup $rc; exit $rc' EXIT

services_install
if ! command -v nginx >/dev/null; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q nginx-light >/dev/null
fi

echo "== drill: ${minutes} min, $(nproc) cores, $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u +%FT%TZ)"
services_start_clickhouse_shards
d=$PIXELPOST_TEST_SERVICES_DIR
go build -o "$work/pixelpost" ./server/cmd/pixelpost
go build -o "$work/drill-bin" ./bench/cmd/drill
seed=${DRILL_SEED:-$(date +%s%N)}
"$work/drill-bin" -minutes "$minutes" -rate "${DRILL_RATE:-100}" -seed "$seed" \
  -work "$work/drill" -pixelpost "$work/pixelpost" \
  -clickhouse "$PIXELPOST_TEST_CLICKHOUSE_CLUSTER" \
  -clickhouse-configs "$d/clickhouse-shard1/config.xml,$d/clickhouse-shard2/config.xml" \
  -clickhouse-pids "$d/clickhouse-shard1/clickhouse.pid,$d/clickhouse-shard2/clickhouse.pid"
