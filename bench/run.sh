#!/usr/bin/env bash
# The load benchmark, and the check of every performance target of SPEC §7
# (issue 14), all from one run on this machine, every process on it:
# nginx's empty_gif (the physical limit of a pixel server here, driven by
# wrk and by our load generator) against pixelpost with the full pipeline
# (Redis ledger with AOF, write-ahead logs, ClickHouse shipping), in
# alternated rounds; an open-loop latency run of browser pixel hits at 70 %
# of the rate the whole pipeline sustained; postbacks and leads at 64 and
# at 256 connections; RSS; a degraded run with ClickHouse stopped for its
# middle third; the WAL's replay into ClickHouse; the books after each run.
# It ends with a table of the targets, each PASS or MISS. Everything runs
# on loopback; services are started on private ports and stopped at the end.
#
# Usage: bench/run.sh [seconds per run (10)] [rounds (3)] [label]
# BENCH_CONNS (64): connections of the throughput rounds.
# Results: printed, and written to bench/results/<date>-<label>.txt.
# Exit status: non-zero when the books do not balance (a MISS of a speed
# target is reported, not an error).
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
missing=()
command -v nginx >/dev/null || missing+=(nginx)
command -v wrk >/dev/null || missing+=(wrk)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi
services_start
# Redis runs with the AOF settings we recommend (scripts/services.sh), but
# a 10 s run never reaches their 256mb minimum, where a long-running Redis
# is: 1mb lets rewrites happen here at the rate of the 400 % growth rule
# (whose cost per op does not depend on the size, README "Configuration").
redis-cli -u "$PIXELPOST_TEST_REDIS" config set auto-aof-rewrite-min-size 1mb >/dev/null

echo "== machine: $(nproc) cores, $(git rev-parse --short HEAD), $(date -u +%FT%TZ), ${secs}s runs, $rounds rounds, $conns connections"
echo "   redis: $(redis-cli -u "$PIXELPOST_TEST_REDIS" config get auto-aof-rewrite-percentage | tr '\n' ' ')$(redis-cli -u "$PIXELPOST_TEST_REDIS" config get auto-aof-rewrite-min-size | tr '\n' ' ')"
go build -o "$work/pixelpost" ./server/cmd/pixelpost
go build -o "$work/loadgen" ./bench/cmd/loadgen
go test -c -o "$work/clickhouse.test" ./storage/clickhouse # the replay benchmark, built before any timing

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

py() { python3 -c "$1"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
median() { python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }
# CPU ticks of processes, with their reaped children (Redis's AOF
# rewrites): /proc/PID/stat fields 14-17, utime stime cutime cstime.
ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14+$15+$16+$17}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$t"; }
hz=$(getconf CLK_TCK)
redis_pid=$(cat "$PIXELPOST_TEST_SERVICES_DIR/redis/redis.pid")
ch_pid() { cat "$PIXELPOST_TEST_SERVICES_DIR/clickhouse/clickhouse.pid"; }
us_per() { py "print(f'{($2)/$hz/$1*1e6:.1f}')"; } # requests, ticks expression
runs=()   # request counts of the pixel drives of $acct, for the books
drive() { # name addr run conns [extra flags]
  local name=$1 addr=$2 run=$3 c=$4; shift 4
  local j; j=$("$work/loadgen" drive -addr "$addr" -account "$acct" -run "$run" -conns "$c" -duration "${secs}s" "$@")
  printf '%-24s %s\n' "$name" "$j" >&2
  echo "$j"
}
# flush waits (POST /api/v1/flush) until pixelpost applied and shipped
# every hit it answered, and prints how many seconds that took: the drain
# of a run, charged to it; the next run starts on an idle machine.
flush() {
  local t0 t1
  t0=$(date +%s.%N)
  curl -sf -X POST "http://127.0.0.1:$pp_port/api/v1/flush?wait=5m" -H "Authorization: Bearer $token" >/dev/null
  t1=$(date +%s.%N)
  py "print(f'{$t1-$t0:.2f}')"
}
# mem prints pixelpost's memory after a phase: the peak so far (VmHWM),
# now, and now's split into anonymous (the Go heap) and file-backed pages
# (the binary, bbolt's memory-mapped files).
mem() { echo "memory after $1: $(grep -E 'VmHWM|VmRSS|RssAnon|RssFile' "/proc/$pp_pid/status" | awk '{printf "%s %d MiB  ", $1, $2/1024}')"; }
books_ok=1
books() {
  if ! "$work/loadgen" books -base "http://127.0.0.1:$pp_port" -token "$token" -account "$acct" \
    -clickhouse "$dsn" -n "$(IFS=,; echo "${runs[*]}")"; then
    books_ok=0
  fi
}
# The summary: one line per target, with its figure and PASS or MISS.
summary=()
target() { # name figure limit pass-condition (python)
  local verdict=MISS
  [ "$(py "print(1 if ($4) else 0)")" = 1 ] && verdict=PASS
  summary+=("$(printf '| %-58s | %-26s | %-16s | %s |' "$1" "$2" "$3" "$verdict")")
}

echo "== throughput, alternated (closed loop, $conns connections; pixel hits carry a browser's <img> headers)"
echo "   CPU per request counts each process's CPU time over the run and its drain (until POST /api/v1/flush answers)"
wrk_rps=() lg_rps=() pp_rps=() sustained=() sus_ratio=() whole=() pp_us=() ng_us=() ng_wrk_us=() cpu_ratio=()
for r in $(seq 1 "$rounds"); do
  ng0=$(ticks $(pgrep -P "$ng_pid"))
  w=$(/usr/bin/time -f '%U %S' -o "$work/wrk.time" wrk -t2 -c"$conns" -d"${secs}s" "http://127.0.0.1:$ng_port/")
  ng1=$(ticks $(pgrep -P "$ng_pid"))
  wreq=$(echo "$w" | awk '/requests in/ {print $1}') wr=$(echo "$w" | awk '/Requests\/sec/ {print $2}')
  wcpu=$(awk '{print $1+$2}' "$work/wrk.time")
  printf '%-24s %s requests, %s req/s, wrk CPU %s µs/req\n' "nginx (wrk) #$r" "$wreq" "$wr" "$(py "print(f'{$wcpu/$wreq*1e6:.1f}')")" >&2
  nl0=$(ticks $(pgrep -P "$ng_pid"))
  n=$(drive "nginx (loadgen) #$r" "127.0.0.1:$ng_port" "n$r" "$conns")
  nl1=$(ticks $(pgrep -P "$ng_pid"))
  p0=$(ticks "$pp_pid") r0=$(ticks "$redis_pid") c0=$(ticks "$(ch_pid)")
  p=$(drive "pixelpost pixel #$r" "127.0.0.1:$pp_port" "p$r" "$conns" -browser)
  took=$(flush)
  p1=$(ticks "$pp_pid") r1=$(ticks "$redis_pid") c1=$(ticks "$(ch_pid)")
  sent=$(echo "$p" | field sent)
  runs+=("$sent")
  pr=$(echo "$p" | field rps) nr=$(echo "$n" | field rps)
  sus=$(py "print(round($sent/($(echo "$p" | field elapsed_s)+$took)))")
  wrk_rps+=("$wr") lg_rps+=("$nr") pp_rps+=("$pr") sustained+=("$sus")
  sus_ratio+=("$(py "print(f'{$sus/$wr:.3f}')")")
  whole+=("$(us_per "$sent" "$p1-$p0+$r1-$r0+$c1-$c0")")
  pp_us+=("$(us_per "$sent" "$p1-$p0")") ng_wrk_us+=("$(us_per "$wreq" "$ng1-$ng0")")
  ng_us+=("$(us_per "$(echo "$n" | field sent)" "$nl1-$nl0")")
  cpu_ratio+=("$(py "print(f'{${pp_us[-1]}/${ng_us[-1]}:.2f}')")")
  echo "round $r: nginx $(printf %.0f "$wr") req/s (wrk), $(printf %.0f "$nr") (loadgen); pixelpost $(printf %.0f "$pr") req/s" \
    "(ratio to nginx by loadgen $(py "print(f'{$pr/$nr:.2f}')")); drain ${took}s: $sus hits/s sustained, ratio ${sus_ratio[-1]} to nginx (wrk)"
  echo "  CPU µs/request: nginx ${ng_us[-1]} under the loadgen, ${ng_wrk_us[-1]} under wrk;" \
    "pixelpost ${pp_us[-1]} (${cpu_ratio[-1]}× nginx under the same loadgen), redis $(us_per "$sent" "$r1-$r0")," \
    "clickhouse $(us_per "$sent" "$c1-$c0"): whole system ${whole[-1]}; loadgen $(py "print(f'{$(echo "$p" | field cpu_us_per_req):.1f}')")"
done
echo "per round: whole-system µs/hit ${whole[*]}; pixelpost/nginx CPU ${cpu_ratio[*]}; sustained/nginx ${sus_ratio[*]}"
target "whole-system CPU per pixel hit (pixelpost+redis+clickhouse)" "$(median "${whole[@]}") µs (median)" "≤ 50 µs" "$(median "${whole[@]}") <= 50"
# Both driven by the same load generator at the same connections (as the
# issue's "from ~5×" was measured); nginx under wrk is printed above too.
target "pixelpost CPU per hit / nginx's per request (same round, loadgen)" "$(median "${cpu_ratio[@]}")× ($(median "${pp_us[@]}") / $(median "${ng_us[@]}") µs)" "≤ 3×" "$(median "${cpu_ratio[@]}") <= 3"
target "sustained rate / nginx req/s (wrk)" "$(median "${sus_ratio[@]}") ($(median "${sustained[@]}") / $(median "${wrk_rps[@]}"))" "≥ 0.25" "$(median "${sus_ratio[@]}") >= 0.25"

mem "the throughput runs"
echo "== books after the throughput runs"
books
target "books balance after the throughput runs" "$([ $books_ok = 1 ] && echo balance || echo UNBALANCED)" "exact" "$books_ok == 1"

rate=$(py "print(int($(median "${sustained[@]}")*0.7))")
echo "== latency: open loop, browser pixel hits at 70 % of the median sustained rate ($rate req/s), 512 connections"
p=$(drive "pixelpost open loop" "127.0.0.1:$pp_port" "lat" 512 -rate "$rate" -browser)
runs+=("$(echo "$p" | field sent)")
gen=$(py "print(f'{$(echo "$p" | field cpu_us_per_req):.1f}')")
lat99=$(echo "$p" | field p99_ms)
echo "p50 $(echo "$p" | field p50_ms) ms, p99 $lat99 ms, p99.9 $(echo "$p" | field p999_ms) ms, errors $(echo "$p" | field errors); generator CPU $gen µs/request"
n=$(drive "nginx open loop" "127.0.0.1:$ng_port" "nlat" 512 -rate "$rate" -browser)
echo "nginx at the same rate: p50 $(echo "$n" | field p50_ms) ms, p99 $(echo "$n" | field p99_ms) ms; generator CPU $(py "print(f'{$(echo "$n" | field cpu_us_per_req):.1f}')") µs/request"
target "browser pixel p99, open loop at 70 % of sustained ($rate/s)" "$lat99 ms (generator $gen µs/req)" "≤ 10 ms" "$lat99 <= 10 and $(echo "$p" | field errors) == 0"
flush >/dev/null
mem "the open loop"

api() { curl -sf -X PUT "http://127.0.0.1:$pp_port/api/v1/accounts/$1/$2" -H "Authorization: Bearer $token" -d "$3" >/dev/null; }
for c in 64 256; do
  echo "== S2S at $c connections: click redirect, then postbacks (closed loop; outbound postbacks go to nginx)"
  a="${acct}s2s$c" # its own account: the pixel books stay those of the pixel runs
  curl -sf -X PUT "http://127.0.0.1:$pp_port/api/v1/accounts/$a" -H "Authorization: Bearer $token" \
    -d '{"name":"Bench S2S","default_currency":"USD"}' >/dev/null
  api "$a" sources/src "{\"postback_url\":\"http://127.0.0.1:$ng_port/pb?tag={external_id}&value={payout}\"}"
  api "$a" networks/net '{"preset":"generic","secret":"bench-secret"}'
  api "$a" "campaigns/camp$c" '{"source_id":"src","network_id":"net","offer_url":"https://offer.example/?sub1={clickid}&z={zone_id}"}'
  s=$("$work/loadgen" s2s -addr "127.0.0.1:$pp_port" -account "$a" -campaign "camp$c" -network net -secret bench-secret \
    -conns "$c" -duration "${secs}s" -token "$token")
  echo "$s"
  pb=$(echo "$s" | grep '"postbacks"')
  target "postback p99 at $c connections" "$(echo "$pb" | field p99_ms) ms ($(printf %.0f "$(echo "$pb" | field rps)") req/s)" "≤ 50 ms" \
    "$(echo "$pb" | field p99_ms) <= 50 and $(echo "$pb" | field errors) == 0"
  flush >/dev/null
  echo "== leads at $c connections: lead-card submissions with MD5 tokens (closed loop)"
  api "$a" "lead-endpoints/card$acct$c" '{"salt":"bench-salt"}'
  l=$("$work/loadgen" leads -addr "127.0.0.1:$pp_port" -endpoint "card$acct$c" -salt bench-salt -conns "$c" -duration "${secs}s")
  echo "$l"
  target "lead p99 at $c connections" "$(echo "$l" | field p99_ms) ms ($(printf %.0f "$(echo "$l" | field rps)") req/s)" "≤ 50 ms" \
    "$(echo "$l" | field p99_ms) <= 50 and $(echo "$l" | field errors) == 0"
  flush >/dev/null
done

mem "the S2S and lead runs"

echo "== degraded: ClickHouse stopped for the middle third of a $((3*secs))s run"
ch=$(ch_pid)
( sleep "$secs"; kill "$ch"; echo "clickhouse stopped" >&2; sleep "$secs"; services_start_clickhouse; echo "clickhouse started" >&2 ) &
killer=$!
old=$secs; secs=$((3*secs))
p=$(drive "pixelpost, CH outage" "127.0.0.1:$pp_port" "deg" "$conns" -browser)
secs=$old
wait "$killer"
runs+=("$(echo "$p" | field sent)")
echo "throughput with ClickHouse down a third of the time: $(printf %.0f "$(echo "$p" | field rps)") req/s, p99 $(echo "$p" | field p99_ms) ms;" \
  "drained $(flush)s after the run"
mem "the degraded run"
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pp_pid/status")
target "pixelpost RSS peak (VmHWM), ClickHouse outage included" "$((hwm / 1024)) MiB" "≤ 256 MiB" "$hwm <= 256*1024"
echo "== books after the degraded run"
books_ok_before=$books_ok books_ok=1
books
target "books balance after every run (open loop, degraded)" "$([ $books_ok = 1 ] && echo balance || echo UNBALANCED)" "exact" "$books_ok == 1"
[ "$books_ok_before" = 1 ] || books_ok=0

echo "== WAL replay into ClickHouse (BenchmarkShip: 200k rows, 5 runs; pixelpost idle)"
reps=$(cd storage/clickhouse && "$work/clickhouse.test" -test.run '^$' -test.bench '^BenchmarkShip$' -test.benchtime 1x -test.count 5 |
  tee /dev/stderr | awk '/rows\/s/ {for (i=1;i<NF;i++) if ($(i+1)=="rows/s") print $i}')
replay=$(median $reps)
target "WAL replay into ClickHouse (median of 5)" "$(printf %.0f "$replay") rows/s" "≥ 200,000" "$replay >= 200000"

echo "== targets (SPEC §7, issue 14), this run"
printf '| %-58s | %-26s | %-16s | %s |\n' target figure limit verdict
printf '| %-58s | %-26s | %-16s | %s |\n' "---" "---" "---" "---"
printf '%s\n' "${summary[@]}"
echo "results written to $out"
[ "$books_ok" = 1 ] || { echo "the books do not balance" >&2; exit 1; }
