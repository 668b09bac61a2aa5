// Package testenv gives integration tests the services started by
// scripts/test.sh. A test whose service is not configured is skipped on a
// developer machine and fails under CI=true, so CI can never pass by
// skipping the tests that matter.
package testenv

import (
	"os"
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
