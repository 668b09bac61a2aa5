#!/usr/bin/env bash
# Starts the services pixelpost's integration tests need, on private loopback
# ports with temporary data directories:
#   a standalone Redis, a 3-master Redis Cluster, a ClickHouse server, and
#   two more ClickHouse servers that are the two shards of a cluster.
# Installs redis-server, clickhouse-server (and chromium, for the dashboard's
# browser test) with apt when they are missing.
#
# Usage: source scripts/services.sh; services_start; ...; services_stop
# services_start exports PIXELPOST_TEST_REDIS, PIXELPOST_TEST_REDIS_CLUSTER,
# PIXELPOST_TEST_CLICKHOUSE, PIXELPOST_TEST_CLICKHOUSE_CLUSTER
# (NAME@host:port,host:port: the cluster's name in remote_servers and its
# shards' native ports) and the helpers below (for tests that stop and
# restart a service): PIXELPOST_TEST_SERVICES_DIR, PIXELPOST_TEST_CLICKHOUSE_CONFIG.

services_log() { echo "services: $*" >&2; }

services_install() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v redis-cli >/dev/null || missing+=(redis-tools)
  command -v clickhouse-server >/dev/null || missing+=(clickhouse-server)
  command -v clickhouse-client >/dev/null || missing+=(clickhouse-client)
  command -v chromium >/dev/null || missing+=(chromium) # the dashboard's browser test
  [ ${#missing[@]} -eq 0 ] && return 0
  services_log "installing ${missing[*]} with apt"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}" >/dev/null
}

# services_free_port prints a TCP port nobody listens on.
services_free_port() {
  python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

services_wait() { # name, command...
  local name=$1; shift
  for _ in $(seq 1 200); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  services_log "$name did not come up"
  return 1
}

# Redis runs with the AOF settings README recommends ("Configuration"):
# rewrites at 400 % growth, not 100 %, cost a third as much CPU per op.
services_start_redis() { # port dir [extra args]
  local port=$1 dir=$2; shift 2
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --save '' \
    --appendonly yes --appendfsync everysec --maxmemory-policy noeviction \
    --auto-aof-rewrite-percentage 400 --auto-aof-rewrite-min-size 256mb "$@"
  services_wait "redis :$port" redis-cli -p "$port" ping
}

services_clickhouse_config() { # dir tcp http inter [extra config xml]
  local dir=$1
  mkdir -p "$dir"/{data,tmp,user_files,format_schemas,log}
  cat >"$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$dir/log/server.log</log><errorlog>$dir/log/error.log</errorlog><size>10M</size><count>1</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>$2</tcp_port>
  <http_port>$3</http_port>
  <interserver_http_port>$4</interserver_http_port>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <format_schema_path>$dir/format_schemas/</format_schema_path>
  <users_config>/etc/clickhouse-server/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <max_connections>512</max_connections>
  <mark_cache_size>268435456</mark_cache_size>
  <timezone>UTC</timezone>
${5:-}
</yandex>
XML
}

services_start_clickhouse() {
  clickhouse-server --config-file="$PIXELPOST_TEST_CLICKHOUSE_CONFIG" \
    >>"$PIXELPOST_TEST_SERVICES_DIR/clickhouse/log/stdout.log" 2>&1 &
  echo $! >"$PIXELPOST_TEST_SERVICES_DIR/clickhouse/clickhouse.pid"
  services_wait clickhouse clickhouse-client --port "$PIXELPOST_TEST_CLICKHOUSE_PORT" --query 'SELECT 1'
}

# services_start_clickhouse_shards starts two servers, each one shard of
# the cluster pixelpost_test_shards (remote_servers on loopback, no
# ZooKeeper: no replication, no ON CLUSTER DDL).
services_start_clickhouse_shards() {
  local d=$PIXELPOST_TEST_SERVICES_DIR name=pixelpost_test_shards
  local p1 p2 shards i port
  p1=$(services_free_port); p2=$(services_free_port)
  shards="<remote_servers><$name>"
  for port in "$p1" "$p2"; do
    shards+="<shard><replica><host>127.0.0.1</host><port>$port</port></replica></shard>"
  done
  shards+="</$name></remote_servers>"
  i=0
  for port in "$p1" "$p2"; do
    i=$((i + 1))
    services_clickhouse_config "$d/clickhouse-shard$i" "$port" "$(services_free_port)" "$(services_free_port)" "$shards"
    clickhouse-server --config-file="$d/clickhouse-shard$i/config.xml" \
      >>"$d/clickhouse-shard$i/log/stdout.log" 2>&1 &
    echo $! >"$d/clickhouse-shard$i/clickhouse.pid"
  done
  for i in 1 2; do
    port=$p1; [ "$i" = 2 ] && port=$p2
    services_wait "clickhouse shard $i" clickhouse-client --port "$port" --query 'SELECT 1' ||
      { tail -20 "$d/clickhouse-shard$i/log/error.log" >&2; return 1; }
  done
  export PIXELPOST_TEST_CLICKHOUSE_CLUSTER="$name@127.0.0.1:$p1,127.0.0.1:$p2"
}

services_start() {
  services_install
  PIXELPOST_TEST_SERVICES_DIR=$(mktemp -d -t pixelpost-services.XXXXXX)
  export PIXELPOST_TEST_SERVICES_DIR
  local d=$PIXELPOST_TEST_SERVICES_DIR

  local rp; rp=$(services_free_port)
  services_start_redis "$rp" "$d/redis" || return 1
  export PIXELPOST_TEST_REDIS="redis://127.0.0.1:$rp/0"

  local ports=() p
  for i in 1 2 3; do
    p=$(services_free_port)
    # Cluster bus port is port+10000: keep both in range.
    while [ "$p" -gt 55000 ]; do p=$(services_free_port); done
    ports+=("$p")
    services_start_redis "$p" "$d/cluster-$p" --cluster-enabled yes \
      --cluster-config-file "$d/cluster-$p/nodes-$p.conf" || return 1
  done
  redis-cli --cluster create "127.0.0.1:${ports[0]}" "127.0.0.1:${ports[1]}" "127.0.0.1:${ports[2]}" \
    --cluster-replicas 0 --cluster-yes >"$d/cluster-create.log" 2>&1 || { cat "$d/cluster-create.log" >&2; return 1; }
  for p in "${ports[@]}"; do
    services_wait "cluster :$p" bash -c "redis-cli -p $p cluster info | grep -q cluster_state:ok"
  done
  export PIXELPOST_TEST_REDIS_CLUSTER="127.0.0.1:${ports[0]},127.0.0.1:${ports[1]},127.0.0.1:${ports[2]}"

  PIXELPOST_TEST_CLICKHOUSE_PORT=$(services_free_port)
  export PIXELPOST_TEST_CLICKHOUSE_PORT
  export PIXELPOST_TEST_CLICKHOUSE_CONFIG="$d/clickhouse/config.xml"
  services_clickhouse_config "$d/clickhouse" "$PIXELPOST_TEST_CLICKHOUSE_PORT" "$(services_free_port)" "$(services_free_port)"
  services_start_clickhouse || { tail -20 "$d/clickhouse/log/error.log" >&2; return 1; }
  export PIXELPOST_TEST_CLICKHOUSE="clickhouse://127.0.0.1:$PIXELPOST_TEST_CLICKHOUSE_PORT/pixelpost_test"
  services_start_clickhouse_shards || return 1
  services_log "redis $PIXELPOST_TEST_REDIS, cluster $PIXELPOST_TEST_REDIS_CLUSTER, clickhouse $PIXELPOST_TEST_CLICKHOUSE, clickhouse cluster $PIXELPOST_TEST_CLICKHOUSE_CLUSTER"
}

services_stop() {
  local d=${PIXELPOST_TEST_SERVICES_DIR:-}
  [ -n "$d" ] && [ -d "$d" ] || return 0
  local f pid
  # Callers run with set -e: every kill of a process that is already gone
  # must not end the cleanup half-way.
  local pids=()
  for f in "$d"/*/redis.pid "$d"/clickhouse*/clickhouse.pid; do
    [ -f "$f" ] && pids+=("$(cat "$f")")
  done
  for pid in "${pids[@]}"; do kill -s TERM "$pid" 2>/dev/null || true; done
  # ClickHouse takes a few seconds to stop cleanly: wait up to 15 s, then
  # kill what is left.
  for _ in $(seq 1 150); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -s KILL "$pid" 2>/dev/null || true; done
  rm -rf "$d"
  return 0
}
