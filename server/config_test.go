package server

import (
	"strings"
	"testing"
	"time"
)

func TestLoadFlagsWinOverEnvironment(t *testing.T) {
	env := map[string]string{
		"PIXELPOST_LISTEN":          ":9999",
		"PIXELPOST_REDIS_URL":       "redis://127.0.0.1:6379/0",
		"PIXELPOST_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1",
	}
	cfg, err := Load([]string{"--listen", "127.0.0.1:7000"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:7000" {
		t.Errorf("listen = %q, the flag must win", cfg.Listen)
	}
	if cfg.RedisURL != "redis://127.0.0.1:6379/0" {
		t.Errorf("redis url = %q, from the environment", cfg.RedisURL)
	}
	if strings.Join(cfg.TrustedProxies, "|") != "10.0.0.0/8|127.0.0.1" {
		t.Errorf("trusted proxies = %q", cfg.TrustedProxies)
	}
}

func TestLoadReportsEveryErrorAtOnce(t *testing.T) {
	_, err := Load([]string{
		"--listen", "nope", "--redis-url", "http://x", "--redis-cluster", "a:1",
		"--clickhouse-dsn", "mysql://x", "--admin-token", "short", "--trusted-proxies", "banana",
		"--log-level", "loud",
	}, func(string) string { return "" })
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"listen", "redis-url:", "choose one", "clickhouse-dsn", "admin-token", "trusted-proxies", "log-level"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestLoadRejectsBadEnvironmentValue(t *testing.T) {
	_, err := Load(nil, func(k string) string {
		if k == "PIXELPOST_LEDGER_BATCH" {
			return "many"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), "PIXELPOST_LEDGER_BATCH") {
		t.Fatalf("err = %v, want one naming PIXELPOST_LEDGER_BATCH", err)
	}
}

// --cookie-domain is a hostname, nothing else: the cookie header is built
// from it.
func TestCookieDomainIsAHostname(t *testing.T) {
	f := func(domain string, ok bool) {
		t.Helper()
		_, err := Load([]string{"--admin-token", testToken, "--cookie-domain", domain}, func(string) string { return "" })
		if ok && err != nil {
			t.Errorf("--cookie-domain %q refused: %v", domain, err)
		}
		if !ok && (err == nil || !strings.Contains(err.Error(), "cookie-domain")) {
			t.Errorf("--cookie-domain %q: error %v, want a cookie-domain error", domain, err)
		}
	}
	f("mydomain.com", true)
	f("webinars.my-domain.co.uk", true)
	f(".mydomain.com", true) // a leading dot is ignored by browsers
	f("localhost", true)
	f("https://mydomain.com", false)
	f("mydomain.com:8080", false)
	f("mydomain.com/path", false)
	f("mydomain.com; Secure", false)
	f("my domain.com", false)
	f("mydomain..com", false)
	f("mydomain.com.", false)
	f("-mydomain.com", false)
	f("mydomain-.com", false)
	f("203.0.113.7", false)
	f("[2001:db8::1]", false)
	f("2001:db8::1", false)
	f("müller.de", false) // IDNs must be given in punycode (xn--mller-kva.de)
	f("xn--mller-kva.de", true)
	f(".", false)
	f(strings.Repeat("a", 64)+".com", false)
}

// --clickhouse-cluster (or PIXELPOST_CLICKHOUSE_CLUSTER) names a cluster,
// needs a DSN and takes only names remote_servers can hold.
func TestLoadClickHouseCluster(t *testing.T) {
	env := func(k string) string {
		if k == "PIXELPOST_CLICKHOUSE_CLUSTER" {
			return "shards_2"
		}
		return ""
	}
	cfg, err := Load([]string{"--clickhouse-dsn", "clickhouse://127.0.0.1:9000/pp"}, env)
	if err != nil || cfg.ClickHouseCluster != "shards_2" {
		t.Fatalf("cluster %q, %v", cfg.ClickHouseCluster, err)
	}
	f := func(want string, args ...string) {
		t.Helper()
		_, err := Load(args, func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want one with %q", args, err, want)
		}
	}
	f("clickhouse-cluster: needs clickhouse-dsn", "--clickhouse-cluster", "shards")
	f("letters, digits", "--clickhouse-dsn", "clickhouse://h:9000/pp", "--clickhouse-cluster", "a`b")
	f("letters, digits", "--clickhouse-dsn", "clickhouse://h:9000/pp", "--clickhouse-cluster", "a b")
}

// The ClickHouse batches: 50000 rows or 5 s by default (issue 14), tuned by
// flag or environment, within bounds.
func TestLoadClickHouseBatch(t *testing.T) {
	cfg, err := Load(nil, func(string) string { return "" })
	if err != nil || cfg.ClickHouseBatchRows != 50000 || cfg.ClickHouseBatchMB != 24 || cfg.ClickHouseBatchDelay != 5*time.Second {
		t.Fatalf("defaults: %d rows, %d MiB, %s (%v); want 50000 rows, 24 MiB, 5s", cfg.ClickHouseBatchRows, cfg.ClickHouseBatchMB, cfg.ClickHouseBatchDelay, err)
	}
	env := func(k string) string {
		if k == "PIXELPOST_CLICKHOUSE_BATCH_DELAY" {
			return "2s"
		}
		return ""
	}
	cfg, err = Load([]string{"--clickhouse-batch-rows", "10000"}, env)
	if err != nil || cfg.ClickHouseBatchRows != 10000 || cfg.ClickHouseBatchDelay != 2*time.Second {
		t.Fatalf("tuned: %d rows, %s (%v); want 10000 rows, 2s", cfg.ClickHouseBatchRows, cfg.ClickHouseBatchDelay, err)
	}
	f := func(want string, args ...string) {
		t.Helper()
		_, err := Load(args, func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want one with %q", args, err, want)
		}
	}
	f("clickhouse-batch-rows: 0 is not within 1..500000", "--clickhouse-batch-rows", "0")
	f("clickhouse-batch-rows: 600000 is not within", "--clickhouse-batch-rows", "600000")
	f("clickhouse-batch-mb: 0 is not within 1..1024", "--clickhouse-batch-mb", "0")
	f("clickhouse-batch-delay: 0s is not within 1ms..10m0s", "--clickhouse-batch-delay", "0")
	f("clickhouse-batch-delay: 1h0m0s is not within", "--clickhouse-batch-delay", "1h")
}

// --redis-cluster-nat maps announced cluster addresses to dialled ones;
// a malformed pair, or a map without a cluster, is refused.
func TestRedisClusterNAT(t *testing.T) {
	cfg, err := Load([]string{"--redis-cluster", "10.0.0.1:7000", "--redis-cluster-nat",
		"10.0.0.1:7000=127.0.0.1:17000, 10.0.0.2:7000=127.0.0.1:17001"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.RedisClusterNAT) != 2 || cfg.RedisClusterNAT["10.0.0.2:7000"] != "127.0.0.1:17001" {
		t.Fatalf("nat map %v", cfg.RedisClusterNAT)
	}
	for _, args := range [][]string{
		{"--redis-cluster", "10.0.0.1:7000", "--redis-cluster-nat", "10.0.0.1:7000"},
		{"--redis-cluster", "10.0.0.1:7000", "--redis-cluster-nat", "10.0.0.1=127.0.0.1:1"},
		{"--redis-cluster-nat", "10.0.0.1:7000=127.0.0.1:17000"},
	} {
		if _, err := Load(args, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "redis-cluster-nat") {
			t.Errorf("%q: %v, want a redis-cluster-nat error", args, err)
		}
	}
}
