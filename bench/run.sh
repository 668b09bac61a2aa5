#!/usr/bin/env bash
# The load benchmark: nginx's empty_gif (the physical limit of a pixel
# server on this machine) against pixelpost with the full pipeline (Redis
# ledger with AOF, write-ahead logs, ClickHouse shipping), in alternated
# runs, then an open-loop latency run at 70 % of the rate the whole pipeline
# sustained (hits over a run and its drain), a
# degraded run with ClickHouse stopped for its middle third, and the books
# check after each. Everything runs on loopback; services are started on
# private ports and stopped at the end.
#
# Usage: bench/run.sh [seconds per run (10)] [rounds (3)] [label]
# Results: printed, and written to bench/results/<date>-<label>.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
rounds=${2:-3}
label=${3:-run}
conns=${BENCH_CONNS:-64}
mkdir -p bench/results
out="bench/results/$(date -u +%Y%m%d-%H%M)-$label.txt"
exec > >(tee "$out") 2>&1

. scripts/services.sh
work=$(mktemp -d -t pixelpost-bench.XXXXXX)
pp_pid="" ng_pid=""
cleanup() {
  # Under set -e: a process already gone must not end the cleanup half-way.
  if [ -n "$pp_pid" ]; then kill "$pp_pid" 2>/dev/null || true; wait "$pp_pid" 2>/dev/null || true; fi
  if [ -n "$ng_pid" ]; then kill "$ng_pid" 2>/dev/null || true; fi
  services_stop
  rm -rf "$work"
  return 0
}
trap 'rc=$?; cleanup; exit $rc' EXIT
command -v nginx >/dev/null || { apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx >/dev/null; }
services_start

echo "== machine: $(nproc) cores, $(git rev-parse --short HEAD), $(date -u +%FT%TZ), ${secs}s runs, $conns connections"
go build -o "$work/pixelpost" ./server/cmd/pixelpost
go build -o "$work/loadgen" ./bench/cmd/loadgen

ng_port=$(services_free_port)
mkdir -p "$work/nginx/logs"
cat >"$work/nginx/nginx.conf" <<NGINX
worker_processes auto;
error_log $work/nginx/logs/error.log warn;
pid $work/nginx/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$ng_port;
    location / { empty_gif; add_header Cache-Control "no-store, no-cache, must-revalidate, private"; }
  }
}
NGINX
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
ng_pid=$!

pp_port=$(services_free_port)
token="bench-admin-token-$RANDOM$RANDOM"
dsn="clickhouse://127.0.0.1:$PIXELPOST_TEST_CLICKHOUSE_PORT/pixelpost_bench"
"$work/pixelpost" --listen "127.0.0.1:$pp_port" --data-dir "$work/data" --admin-token "$token" \
  --redis-url "$PIXELPOST_TEST_REDIS" --clickhouse-dsn "$dsn" --log-level warn --allow-private-targets >"$work/pixelpost.log" 2>&1 &
pp_pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$pp_port/healthz" >/dev/null && break; sleep 0.1; done
acct="bench$(date +%s)"
curl -sf -X PUT "http://127.0.0.1:$pp_port/api/v1/accounts/$acct" -H "Authorization: Bearer $token" \
  -d '{"name":"Bench","default_currency":"USD"}' >/dev/null

field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
# CPU ticks of processes, with their reaped children (Redis's AOF rewrites).
ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14+$15+$16+$17}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$t"; }
redis_pid=$(cat "$PIXELPOST_TEST_SERVICES_DIR/redis/redis.pid")
ch_pid() { cat "$PIXELPOST_TEST_SERVICES_DIR/clickhouse/clickhouse.pid"; }
per_req() { python3 -c "print(f'{($2)/$(getconf CLK_TCK)/$1*1e6:.1f}')"; } # requests, ticks expression
runs=()   # request counts of the pixelpost drives, for the books
drive() { # name addr run [extra flags]
  local name=$1 addr=$2 run=$3; shift 3
  local j; j=$("$work/loadgen" drive -addr "$addr" -account "$acct" -run "$run" -conns "$conns" -duration "${secs}s" "$@")
  printf '%-22s %s\n' "$name" "$j" >&2
  echo "$j"
}
# settle waits until pixelpost applied and shipped every hit it answered
# (ledger backlog and ClickHouse lag at 0) and prints how long that took:
# the next run starts on an idle machine, and the work a run left behind
# is charged to it.
settle() { "$work/loadgen" idle -metrics "http://127.0.0.1:$pp_port/metrics"; }
books() {
  "$work/loadgen" books -base "http://127.0.0.1:$pp_port" -token "$token" -account "$acct" \
    -clickhouse "$dsn" -n "$(IFS=,; echo "${runs[*]}")"
}

echo "== throughput, alternated (closed loop, $conns connections)"
echo "   CPU per request counts each process's CPU time over the run and until pixelpost has applied and shipped every hit"
ratios=() pp_ticks=0 pp_hits=0 sustained_best=0
for r in $(seq 1 "$rounds"); do
  ng0=$(ticks $(pgrep -P "$ng_pid"))
  n=$(drive "nginx empty_gif #$r" "127.0.0.1:$ng_port" "n$r")
  ng1=$(ticks $(pgrep -P "$ng_pid"))
  p0=$(ticks "$pp_pid") r0=$(ticks "$redis_pid") c0=$(ticks "$(ch_pid)")
  p=$(drive "pixelpost pixel #$r" "127.0.0.1:$pp_port" "p$r")
  took=$(settle)
  p1=$(ticks "$pp_pid") r1=$(ticks "$redis_pid") c1=$(ticks "$(ch_pid)")
  sent=$(echo "$p" | field sent) nsent=$(echo "$n" | field sent)
  runs+=("$sent")
  pp_hits=$((pp_hits + sent)) pp_ticks=$((pp_ticks + p1 - p0))
  nr=$(echo "$n" | field rps) pr=$(echo "$p" | field rps)
  ratio=$(python3 -c "print(f'{$pr/$nr:.2f}')")
  ratios+=("$ratio")
  # What the whole pipeline sustains: hits over the run and its drain.
  sus=$(python3 -c "print(round($sent/($(echo "$p" | field elapsed_s)+$took)))")
  sustained_best=$(python3 -c "print(max($sustained_best, $sus))")
  echo "round $r: nginx $(printf %.0f "$nr") req/s, pixelpost $(printf %.0f "$pr") req/s, ratio $ratio;" \
    "pipeline idle ${took}s after the run: $sus hits/s sustained (ratio $(python3 -c "print(f'{$sus/$nr:.2f}')"))"
  echo "  CPU µs/request: nginx run: nginx $(per_req "$nsent" "$ng1-$ng0"), loadgen $(python3 -c "print(f'{$(echo "$n" | field cpu_s)/$nsent*1e6:.1f}')");" \
    "pixelpost run: pixelpost $(per_req "$sent" "$p1-$p0"), redis $(per_req "$sent" "$r1-$r0"), clickhouse $(per_req "$sent" "$c1-$c0"), loadgen $(python3 -c "print(f'{$(echo "$p" | field cpu_s)/$sent*1e6:.1f}')")"
done
echo "ratio pixelpost/nginx per round: ${ratios[*]} (median $(printf '%s\n' "${ratios[@]}" | sort -n | sed -n "$(( (rounds+1)/2 ))p"))"
echo "pixelpost CPU per hit: $(per_req "$pp_hits" "$pp_ticks") µs (process CPU time / hits answered)"

echo "== books after the throughput runs"
books

rate=$(python3 -c "print(int($sustained_best*0.7))")
echo "== latency: open loop at 70 % of the best rate the pipeline sustained ($rate req/s)"
p=$(drive "pixelpost open loop" "127.0.0.1:$pp_port" "lat" -rate "$rate" -conns 512)
runs+=("$(echo "$p" | field sent)")
echo "p50 $(echo "$p" | field p50_ms) ms, p99 $(echo "$p" | field p99_ms) ms, p99.9 $(echo "$p" | field p999_ms) ms, errors $(echo "$p" | field errors)"
n=$(drive "nginx open loop" "127.0.0.1:$ng_port" "nlat" -rate "$rate" -conns 512)
echo "nginx at the same rate: p50 $(echo "$n" | field p50_ms) ms, p99 $(echo "$n" | field p99_ms) ms"

echo "== S2S: click redirect, then postbacks (closed loop, $conns connections; outbound postbacks go to nginx)"
s2s_acct="${acct}s2s" # its own account: the pixel books stay those of the pixel runs
curl -sf -X PUT "http://127.0.0.1:$pp_port/api/v1/accounts/$s2s_acct" -H "Authorization: Bearer $token" \
  -d '{"name":"Bench S2S","default_currency":"USD"}' >/dev/null
api() { curl -sf -X PUT "http://127.0.0.1:$pp_port/api/v1/accounts/$s2s_acct/$1" -H "Authorization: Bearer $token" -d "$2" >/dev/null; }
api sources/src "{\"postback_url\":\"http://127.0.0.1:$ng_port/pb?tag={external_id}&value={payout}\"}"
api networks/net '{"preset":"generic","secret":"bench-secret"}'
api "campaigns/camp$acct" '{"source_id":"src","network_id":"net","offer_url":"https://offer.example/?sub1={clickid}&z={zone_id}"}'
"$work/loadgen" s2s -addr "127.0.0.1:$pp_port" -account "$s2s_acct" -campaign "camp$acct" -network net -secret bench-secret \
  -conns "$conns" -duration "${secs}s" -metrics "http://127.0.0.1:$pp_port/metrics"

settle >/dev/null
echo "== leads: lead-card submissions with MD5 tokens (closed loop, $conns connections)"
api "lead-endpoints/card$acct" '{"salt":"bench-salt"}'
"$work/loadgen" leads -addr "127.0.0.1:$pp_port" -endpoint "card$acct" -salt bench-salt -conns "$conns" -duration "${secs}s"

echo "== memory"
grep -E 'VmHWM|VmRSS' "/proc/$pp_pid/status"

settle >/dev/null
echo "== degraded: ClickHouse stopped for the middle third of a $((3*secs))s run"
ch_pid=$(cat "$PIXELPOST_TEST_SERVICES_DIR/clickhouse/clickhouse.pid")
( sleep "$secs"; kill "$ch_pid"; echo "clickhouse stopped" >&2; sleep "$secs"; services_start_clickhouse; echo "clickhouse started" >&2 ) &
killer=$!
old=$secs; secs=$((3*secs))
p=$(drive "pixelpost, CH outage" "127.0.0.1:$pp_port" "deg")
secs=$old
wait "$killer"
runs+=("$(echo "$p" | field sent)")
echo "throughput with ClickHouse down a third of the time: $(printf %.0f "$(echo "$p" | field rps)") req/s, p99 $(echo "$p" | field p99_ms) ms"
grep -E 'VmHWM|VmRSS' "/proc/$pp_pid/status"
echo "== books after the degraded run"
books
echo "results written to $out"
