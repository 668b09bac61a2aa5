package server

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pixelpost/pixelpost/storage/clickhouse"
)

// Config is the whole process configuration (SPEC §8). Every field has a
// flag; each flag is also read from PIXELPOST_<NAME> (upper-case, '-' -> '_'),
// and a flag given on the command line wins over the environment.
type Config struct {
	Listen  string // address to listen on
	DataDir string // embedded ledger, write-ahead logs, generated admin token
	// RedisURL selects the Redis ledger (redis://host:port/db); RedisCluster
	// (seed addresses) a Redis Cluster ledger; neither: the embedded ledger.
	RedisURL     string
	RedisCluster []string
	// RedisClusterNAT maps the addresses a Redis Cluster's servers announce
	// (host:port) to the addresses pixelpost dials, for a cluster behind
	// NAT or in containers. Empty: dial them as announced.
	RedisClusterNAT map[string]string
	ClickHouseDSN   string // clickhouse://host:9000/db; empty: no shipping
	// ClickHouseCluster names the cluster (the servers' remote_servers)
	// whose Distributed table hits the DSN's database holds: pixelpost
	// ships to it and reports from it, and creates no tables (the
	// operator runs pixelpost clickhouse-ddl on every shard). Empty: one
	// server, tables created and migrated at start-up.
	ClickHouseCluster string
	// ClickHouseBatchRows and ClickHouseBatchDelay size the inserts of raw
	// hits: a batch goes when it holds BatchRows rows or its first row is
	// BatchDelay old, so reports lag the hits by up to BatchDelay. Few,
	// large inserts are what ClickHouse wants (each makes a part its
	// merges rewrite): 50000 rows or 5 s is one insert every 5 s up to
	// 10,000 hits/s per node, and ClickHouse's CPU per row is half that of
	// 10k-row inserts every second (issue 14's study, on 18.16). A batch
	// is held in memory while it fills, ~0.8 KB a row: ~40 MB at 50000.
	// ClickHouseBatchMB also ends a batch at that many MiB of rows, so
	// that fat rows (clicks with long macros) keep its memory as low.
	ClickHouseBatchRows  int
	ClickHouseBatchMB    int
	ClickHouseBatchDelay time.Duration
	// AdminToken is the bootstrap admin API key. Empty: a random one is
	// generated into DataDir/admin-token (mode 0600) at start-up.
	AdminToken          string
	CookieDomain        string   // Domain of the pp_aid cookie (a hostname); empty: host-only
	TrustedProxies      []string // IPs/CIDRs whose X-Forwarded-For is believed
	AllowPrivateTargets bool     // outbound deliveries may reach private ranges (tests)

	LogLevel        string        // zerolog level
	ShutdownTimeout time.Duration // drain deadline on SIGTERM
	// ReadTimeout cuts slow clients; with 8 KiB of request line and headers
	// nothing legitimate needs more than a few seconds.
	ReadTimeout time.Duration
	// LedgerBatch caps the hits of one ledger call (one Redis pipeline, one
	// bbolt transaction). One applier takes them in log order, so the
	// ledger sees hits in the order they were answered.
	LedgerBatch int
	// WALMaxBytes caps each write-ahead log (hits waiting for the ledger;
	// rows waiting for ClickHouse): 4 GiB holds ~13 million 300-byte hits,
	// hours of peak load during an outage.
	WALMaxBytes int64
	// WALSyncInterval is the longest the group commit lingers for more hits
	// under load (one fsync acknowledges all of them).
	WALSyncInterval time.Duration
	// RateLimit is the requests a second one client address may send to
	// the public endpoints (bursts of twice that); 0: no limit. Loopback,
	// private and link-local addresses are not limited (see ipLimiter).
	RateLimit float64
	// KeepFullIP stores client addresses whole; by default they are cut to
	// /24 (IPv4) or /48 (IPv6) before they are recorded.
	KeepFullIP bool
	// PprofListen, if set, serves net/http/pprof on this address (keep it
	// on loopback): profiles of a live node.
	PprofListen string
}

// Load reads the configuration from args (without the program name) and
// the environment, and validates it. All errors are reported together.
func Load(args []string, getenv func(string) string) (Config, error) {
	var cfg Config
	var cluster, clusterNAT, proxies string
	fs := flag.NewFlagSet("pixelpost", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.StringVar(&cfg.Listen, "listen", ":8080", "address to listen on")
	fs.StringVar(&cfg.DataDir, "data-dir", "./data", "directory of the embedded store")
	fs.StringVar(&cfg.RedisURL, "redis-url", "", "Redis ledger, redis://host:port/db (empty: embedded ledger)")
	fs.StringVar(&cluster, "redis-cluster", "", "Redis Cluster ledger: comma-separated seed addresses")
	fs.StringVar(&clusterNAT, "redis-cluster-nat", "", "announced=dialled address pairs (host:port=host:port, comma-separated) for a Redis Cluster behind NAT")
	fs.StringVar(&cfg.ClickHouseDSN, "clickhouse-dsn", "", "ClickHouse for raw hits, clickhouse://host:9000/db")
	fs.StringVar(&cfg.ClickHouseCluster, "clickhouse-cluster", "", "ClickHouse cluster whose Distributed table hits the DSN's database holds (created by pixelpost clickhouse-ddl)")
	fs.IntVar(&cfg.ClickHouseBatchRows, "clickhouse-batch-rows", 50000, "most raw hits per ClickHouse insert (each held in memory while its batch fills, ~0.8 KB a row)")
	fs.IntVar(&cfg.ClickHouseBatchMB, "clickhouse-batch-mb", 24, "most MiB of raw hits (as the rows log holds them) per ClickHouse insert")
	fs.DurationVar(&cfg.ClickHouseBatchDelay, "clickhouse-batch-delay", 5*time.Second, "longest a raw hit waits for its ClickHouse insert: how far reports may lag")
	fs.StringVar(&cfg.AdminToken, "admin-token", "", "bootstrap admin API key (empty: generated into DATA_DIR/admin-token)")
	fs.StringVar(&cfg.CookieDomain, "cookie-domain", "", "Domain attribute of the pp_aid cookie")
	fs.StringVar(&proxies, "trusted-proxies", "", "comma-separated IPs/CIDRs allowed to set X-Forwarded-For")
	fs.BoolVar(&cfg.AllowPrivateTargets, "allow-private-targets", false, "let outbound deliveries reach loopback and private ranges")
	fs.StringVar(&cfg.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "drain deadline on SIGTERM")
	fs.DurationVar(&cfg.ReadTimeout, "read-timeout", 5*time.Second, "slow clients are cut after this")
	fs.IntVar(&cfg.LedgerBatch, "ledger-batch", 512, "max hits per ledger batch")
	fs.Int64Var(&cfg.WALMaxBytes, "wal-max-bytes", 4<<30, "cap of each write-ahead log on disk")
	fs.DurationVar(&cfg.WALSyncInterval, "wal-sync-interval", 2*time.Millisecond, "longest group-commit linger (at most 10ms)")
	fs.Float64Var(&cfg.RateLimit, "rate-limit", 100, "requests per second per client address on public endpoints (0: no limit)")
	fs.BoolVar(&cfg.KeepFullIP, "keep-full-ip", false, "record whole client IPs instead of /24 and /48 networks")
	fs.StringVar(&cfg.PprofListen, "pprof-listen", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6060)")

	var errs []error
	// Environment first, so that flags parsed afterwards win.
	fs.VisitAll(func(f *flag.Flag) {
		name := "PIXELPOST_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(name); v != "" {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		}
	})
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %q", fs.Args()))
	}
	cfg.RedisCluster = splitList(cluster)
	if pairs := splitList(clusterNAT); len(pairs) > 0 {
		cfg.RedisClusterNAT = make(map[string]string, len(pairs))
		for _, p := range pairs {
			from, to, ok := strings.Cut(p, "=")
			if !ok {
				errs = append(errs, fmt.Errorf("redis-cluster-nat: %q is not announced=dialled", p))
				continue
			}
			cfg.RedisClusterNAT[strings.TrimSpace(from)] = strings.TrimSpace(to)
		}
	}
	cfg.TrustedProxies = splitList(proxies)
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	return cfg, errors.Join(errs...)
}

// Validate reports every configuration error at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen: %q is not host:port", c.Listen)
	}
	if c.DataDir == "" {
		bad("data-dir: must not be empty")
	}
	if c.RateLimit < 0 {
		bad("rate-limit: must not be negative")
	}
	if c.RedisURL != "" && len(c.RedisCluster) > 0 {
		bad("redis-url and redis-cluster: choose one")
	}
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			bad("redis-url: %q is not redis://host:port/db", redactURL(c.RedisURL))
		}
	}
	for _, a := range c.RedisCluster {
		if _, _, err := net.SplitHostPort(a); err != nil {
			bad("redis-cluster: %q is not host:port", a)
		}
	}
	if len(c.RedisClusterNAT) > 0 && len(c.RedisCluster) == 0 {
		bad("redis-cluster-nat: needs redis-cluster")
	}
	for from, to := range c.RedisClusterNAT {
		_, _, err1 := net.SplitHostPort(from)
		_, _, err2 := net.SplitHostPort(to)
		if err1 != nil || err2 != nil {
			bad("redis-cluster-nat: %q=%q is not host:port=host:port", from, to)
		}
	}
	if c.ClickHouseDSN != "" {
		if u, err := url.Parse(c.ClickHouseDSN); err != nil || u.Scheme != "clickhouse" || u.Host == "" {
			bad("clickhouse-dsn: %q is not clickhouse://host:port/db", redactURL(c.ClickHouseDSN))
		}
	}
	if c.ClickHouseCluster != "" {
		if c.ClickHouseDSN == "" {
			bad("clickhouse-cluster: needs clickhouse-dsn")
		}
		if err := clickhouse.ValidCluster(c.ClickHouseCluster); err != nil {
			bad("clickhouse-cluster: %v", err)
		}
	}
	if c.ClickHouseBatchRows < 1 || c.ClickHouseBatchRows > maxClickHouseBatchRows {
		bad("clickhouse-batch-rows: %d is not within 1..%d", c.ClickHouseBatchRows, maxClickHouseBatchRows)
	}
	if c.ClickHouseBatchMB < 1 || c.ClickHouseBatchMB > maxClickHouseBatchMB {
		bad("clickhouse-batch-mb: %d is not within 1..%d", c.ClickHouseBatchMB, maxClickHouseBatchMB)
	}
	if c.ClickHouseBatchDelay < time.Millisecond || c.ClickHouseBatchDelay > maxClickHouseBatchDelay {
		bad("clickhouse-batch-delay: %s is not within 1ms..%s", c.ClickHouseBatchDelay, maxClickHouseBatchDelay)
	}
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		bad("admin-token: must be at least 16 characters")
	}
	if c.CookieDomain != "" && !validCookieDomain(c.CookieDomain) {
		bad("cookie-domain: %q is not a hostname such as mydomain.com (no scheme, port, path, IP address or space)", c.CookieDomain)
	}
	for _, p := range c.TrustedProxies {
		if net.ParseIP(p) == nil {
			if _, _, err := net.ParseCIDR(p); err != nil {
				bad("trusted-proxies: %q is neither an IP nor a CIDR", p)
			}
		}
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown-timeout: must be positive")
	}
	if c.ReadTimeout <= 0 {
		bad("read-timeout: must be positive")
	}
	if c.WALMaxBytes < 1<<20 {
		bad("wal-max-bytes: %d is below 1 MiB", c.WALMaxBytes)
	}
	if c.WALSyncInterval < 0 || c.WALSyncInterval > 10*time.Millisecond {
		bad("wal-sync-interval: %s is not within 0..10ms", c.WALSyncInterval)
	}
	if c.LedgerBatch < 1 || c.LedgerBatch > 10000 {
		bad("ledger-batch: %d is not within 1..10000", c.LedgerBatch)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log-level: %q is not debug, info, warn or error", c.LogLevel)
	}
	return errors.Join(errs...)
}

// Bounds of the ClickHouse batches: 500,000 rows is ~400 MB in memory,
// past what a node should hold; 10 minutes is as stale as a report may be.
const (
	maxClickHouseBatchRows  = 500_000
	maxClickHouseBatchMB    = 1024
	maxClickHouseBatchDelay = 10 * time.Minute
)

// WALDir holds the write-ahead logs (hits and rows).
func (c *Config) WALDir() string { return filepath.Join(c.DataDir, "wal") }

// OutboxDir holds the outbox of outbound deliveries.
func (c *Config) OutboxDir() string { return filepath.Join(c.DataDir, "outbox") }

// HitIndexPath is the embedded default's hit index: the reports without
// ClickHouse (rebuilt from the rows log when deleted).
func (c *Config) HitIndexPath() string { return filepath.Join(c.DataDir, "reports", "hits.db") }

// MetaDir holds the queue of events for Meta's Conversions API.
func (c *Config) MetaDir() string { return filepath.Join(c.DataDir, "meta") }

// AdminTokenFile is where a generated admin token is kept.
func (c *Config) AdminTokenFile() string { return filepath.Join(c.DataDir, "admin-token") }

// validCookieDomain reports a hostname fit for a cookie's Domain: labels
// of letters, digits and inner hyphens, at most 253 bytes, optionally led
// by a dot (browsers ignore it); not an IP address (a cookie cannot be
// shared across hosts by IP). Anything else would make browsers drop the
// cookie or, with ';' or spaces, forge other cookie attributes.
func validCookieDomain(d string) bool {
	d = strings.TrimPrefix(d, ".")
	if d == "" || len(d) > 253 || net.ParseIP(d) != nil {
		return false
	}
	labels := strings.Split(d, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	top := labels[len(labels)-1]
	return strings.Trim(top, "0123456789") != "" // an all-digit top label is an address
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// redactURL hides a password so that config errors can be logged.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<unparseable>"
	}
	return u.Redacted()
}
