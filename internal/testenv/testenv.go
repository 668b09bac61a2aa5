// Package testenv gives integration tests the services started by
// scripts/test.sh. A test whose service is not configured is skipped on a
// developer machine and fails under CI=true, so CI can never pass by
// skipping the tests that matter.
package testenv

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Redis returns the URL of a standalone Redis (PIXELPOST_TEST_REDIS).
func Redis(t testing.TB) string {
	return need(t, "PIXELPOST_TEST_REDIS")
}

// RedisCluster returns the seed addresses of a 3-master Redis Cluster
// (PIXELPOST_TEST_REDIS_CLUSTER, comma-separated).
func RedisCluster(t testing.TB) []string {
	return strings.Split(need(t, "PIXELPOST_TEST_REDIS_CLUSTER"), ",")
}

// ClickHouse returns the DSN of a ClickHouse server (PIXELPOST_TEST_CLICKHOUSE).
func ClickHouse(t testing.TB) string {
	return need(t, "PIXELPOST_TEST_CLICKHOUSE")
}

// ClickHouseCluster is a ClickHouse cluster of one-server shards on
// loopback (PIXELPOST_TEST_CLICKHOUSE_CLUSTER, NAME@host:port,host:port).
type ClickHouseCluster struct {
	Name   string   // the cluster in the servers' remote_servers
	Shards []string // each shard's native address, host:port
}

// ClickHouseClusterOf returns the test cluster (two shards, from
// scripts/services.sh).
func ClickHouseClusterOf(t testing.TB) ClickHouseCluster {
	t.Helper()
	v := need(t, "PIXELPOST_TEST_CLICKHOUSE_CLUSTER")
	name, shards, ok := strings.Cut(v, "@")
	if !ok || name == "" || shards == "" {
		t.Fatalf("PIXELPOST_TEST_CLICKHOUSE_CLUSTER=%q is not NAME@host:port,host:port", v)
	}
	return ClickHouseCluster{Name: name, Shards: strings.Split(shards, ",")}
}

// InCI reports whether the tests run under CI (CI=true).
func InCI() bool {
	return os.Getenv("CI") == "true"
}

func need(t testing.TB, name string) string {
	t.Helper()
	v := strings.TrimSpace(os.Getenv(name))
	if v != "" {
		return v
	}
	if InCI() {
		t.Fatalf("%s is not set: run the tests with scripts/test.sh", name)
	}
	t.Skipf("%s is not set: run scripts/test.sh for integration tests", name)
	return ""
}

// Binary returns the path of a program the integration tests run
// themselves (redis-server, clickhouse-server): skipped when missing on a
// developer machine, a failure under CI=true.
func Binary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if InCI() {
		t.Fatalf("%s is not installed: run the tests with scripts/test.sh", name)
	}
	t.Skipf("%s is not installed: run scripts/test.sh for integration tests", name)
	return ""
}

// Chromium returns the path of Debian's chromium, for browser tests
// (scripts/test.sh installs it): skipped when missing on a developer
// machine, a failure under CI=true.
func Chromium(t testing.TB) string {
	return Binary(t, "chromium")
}

// FreePort returns a loopback TCP port nobody listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
