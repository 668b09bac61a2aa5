#!/usr/bin/env bash
# The whole test suite: starts Redis, a 3-master Redis Cluster and ClickHouse
# on private loopback ports (installing them, and headless Chromium for the
# dashboard's browser test, with apt when missing), runs
# go vet and go test against them, and stops them. Extra arguments go to
# go test (e.g. scripts/test.sh -run TestPixel -v).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/services.sh
# Keep the tests' exit status: the trap's own last command would replace it.
trap 'rc=$?; services_stop; exit $rc' EXIT
services_start
# Every service is up: a test that would skip for want of one fails
# instead (internal/testenv), so this run never passes by skipping.
export CI=true

echo "== go vet" >&2
go vet ./...
# The ledger packages, the server and the log run with the race detector;
# the rest without (it is 5-10x slower and adds nothing to pure parsers).
race_pkgs=(./storage/... ./server/...)
echo "== go test -race ${race_pkgs[*]}" >&2
go test -race -count=1 -timeout 20m "$@" "${race_pkgs[@]}"
other=$(go list ./... | grep -v -e '/storage' -e '/server')
echo "== go test (others)" >&2
go test -count=1 -timeout 20m "$@" $other
# The fault drill for 60 seconds, every fault injected once (bench/drill.sh):
# its own Redis Cluster with replicas, two ClickHouse shards and nginx; it
# fails when the books do not balance.
echo "== fault drill (60 s)" >&2
bench/drill.sh 1
