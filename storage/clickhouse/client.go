// Package clickhouse is everything that talks to ClickHouse (SPEC §4, §8):
// the hits table and its migrations, batch inserts, the Shipper that moves
// decided rows from the rows WAL into the table, and the report queries.
//
// The SQL targets ClickHouse 18.16 (the test server) as well as current
// releases, over the native protocol only (18.16's HTTP interface does not
// work with the driver). Consequences: every INSERT names its columns, no
// LowCardinality/DateTime64/Map/JSON/TTL, no ADD COLUMN IF NOT EXISTS, no
// sumMap over String keys, and mutations are asynchronous.
package clickhouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// defaultDialTimeout replaces the driver's 30s so that a shipper notices an
// unreachable server (and backs off) quickly. A dial_timeout in the DSN wins.
const defaultDialTimeout = 5 * time.Second

// Client is a connection pool to one ClickHouse database holding the hits
// table. It is safe for concurrent use. Close it when done.
type Client struct {
	conn    driver.Conn
	db      string
	cluster string      // "" on a single server
	opts    *ch.Options // how conn was opened, for the shards (DeleteAttendee)
	// insertSettings apply to every insert (see unlimitedPartitions).
	insertSettings     ch.Settings
	repartitionPending bool // see RepartitionPending
}

// unlimitedPartitions lifts the limit current releases put on the
// partitions one INSERT may touch (max_partitions_per_insert_block, 100):
// with a partition a day, a batch of an import of a quiet account's
// archive, or of the rows queued through a long outage, spans more than
// 100 days. 18.16 has no such limit, nor the setting (an unknown setting
// fails the query), so it is set only where the server knows it.
const unlimitedPartitions = "max_partitions_per_insert_block"

// detectInsertSettings sets insertSettings from what the server knows.
func (c *Client) detectInsertSettings(ctx context.Context) error {
	var n uint64
	if err := c.conn.QueryRow(ctx, "SELECT count() FROM system.settings WHERE name = ?", unlimitedPartitions).Scan(&n); err != nil {
		return fmt.Errorf("cannot read clickhouse settings: %w", err)
	}
	if n > 0 {
		c.insertSettings = ch.Settings{unlimitedPartitions: 0}
	}
	return nil
}

// insertContext is ctx with the insert settings.
func (c *Client) insertContext(ctx context.Context) context.Context {
	if c.insertSettings == nil {
		return ctx
	}
	return ch.Context(ctx, ch.WithSettings(c.insertSettings))
}

// Open connects to dsn, clickhouse://[user[:password]@]host:port/db[?options]
// (native protocol; options as clickhouse-go's ParseDSN, e.g.
// compress=lz4, dial_timeout=2s), creates the database if it is missing and
// migrates the hits table. Migrations are idempotent: Open on an up-to-date
// database changes nothing. It is Connect without a cluster.
func Open(ctx context.Context, dsn string) (*Client, error) {
	return Connect(ctx, Config{DSN: dsn})
}

// Config says where the hits table is.
type Config struct {
	// DSN is as Open's.
	DSN string
	// Cluster, when set, names the cluster (remote_servers) over which the
	// DSN's database holds the Distributed table hits (ClusterDDL). Connect
	// then creates nothing, and checks that the table is there with every
	// column: the operator creates the tables on every shard.
	Cluster string
}

// Connect connects to the hits table of cfg: see Open and Config.Cluster.
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	opts, db, err := parseDSN(cfg.DSN)
	if err != nil {
		return nil, err
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = defaultDialTimeout
	}
	if cfg.Cluster != "" {
		return connectCluster(ctx, opts, db, cfg.Cluster)
	}

	// The database may not exist yet, and a connection naming it would be
	// refused: create it over a connection to the server's default one.
	boot := *opts
	boot.Auth.Database = ""
	if err := createDatabase(ctx, &boot, db); err != nil {
		return nil, err
	}
	opts.Auth.Database = db
	conn, err := ch.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to clickhouse: %w", err)
	}
	c := &Client{conn: conn, db: db}
	if err := c.migrate(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	if err := c.detectInsertSettings(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// DSNDatabase returns the database a DSN names ("default" if none).
func DSNDatabase(dsn string) (string, error) {
	_, db, err := parseDSN(dsn)
	return db, err
}

func parseDSN(dsn string) (*ch.Options, string, error) {
	if !strings.HasPrefix(dsn, "clickhouse://") {
		return nil, "", errors.New("invalid clickhouse dsn: want clickhouse://host:port/db (native protocol)")
	}
	opts, err := ch.ParseDSN(dsn)
	if err != nil {
		return nil, "", fmt.Errorf("invalid clickhouse dsn: %w", err)
	}
	db := opts.Auth.Database
	if db == "" {
		db = "default"
	}
	if err := validDatabase(db); err != nil {
		return nil, "", err
	}
	return opts, db, nil
}

// clusterSettings apply to every query of a cluster Client.
//
// insert_distributed_sync: an INSERT into the Distributed table returns
// once every shard has its rows, so the shipper moves past rows only when
// they are where reports read them (by default the node queues them on its
// disk and forwards them later, and a lost node loses them).
//
// prefer_localhost_replica=0: the shard on the server we are connected to
// is queried over the network like the others. 18.16 reads its local shard
// with FINAL without the sorting key columns the query does not name, and
// fails (Cannot find column ts / hit_id in source stream) as soon as that
// shard has parts to merge; a query sent over the network runs on the
// shard as a plain local FINAL query, which works. The cost is a loopback
// connection per query.
var clusterSettings = ch.Settings{
	"insert_distributed_sync":  1,
	"prefer_localhost_replica": 0,
}

func connectCluster(ctx context.Context, opts *ch.Options, db, cluster string) (*Client, error) {
	if err := ValidCluster(cluster); err != nil {
		return nil, err
	}
	opts.Auth.Database = db
	if opts.Settings == nil {
		opts.Settings = ch.Settings{}
	}
	for k, v := range clusterSettings {
		if _, ok := opts.Settings[k]; !ok {
			opts.Settings[k] = v
		}
	}
	conn, err := ch.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to clickhouse: %w", err)
	}
	c := &Client{conn: conn, db: db, cluster: cluster, opts: opts}
	if err := c.checkCluster(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	if err := c.detectInsertSettings(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// checkCluster checks that the server knows the cluster and that hits is a
// Distributed table with every column of hitColumns.
func (c *Client) checkCluster(ctx context.Context) error {
	fix := fmt.Sprintf("create the tables with pixelpost clickhouse-ddl --cluster %s", c.cluster)
	var shards uint64
	err := c.conn.QueryRow(ctx, "SELECT count() FROM system.clusters WHERE cluster = ?", c.cluster).Scan(&shards)
	var ex *ch.Exception
	if errors.As(err, &ex) && ex.Code == codeUnknownDatabase {
		return fmt.Errorf("clickhouse database %s does not exist: %s", c.db, fix)
	}
	if err != nil {
		return fmt.Errorf("cannot check clickhouse cluster %s: %w", c.cluster, err)
	}
	if shards == 0 {
		return fmt.Errorf("clickhouse cluster %s is not in the server's remote_servers", c.cluster)
	}
	var engine string
	err = c.conn.QueryRow(ctx, "SELECT engine FROM system.tables WHERE database = ? AND name = 'hits'", c.db).Scan(&engine)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("clickhouse database %s has no table hits: %s", c.db, fix)
	}
	if err != nil {
		return fmt.Errorf("cannot check table hits: %w", err)
	}
	if engine != "Distributed" {
		return fmt.Errorf("clickhouse table %s.hits is %s, not Distributed: %s", c.db, engine, fix)
	}
	have, err := c.columns(ctx, "hits")
	if err != nil {
		return err
	}
	for _, col := range hitColumns {
		if have[col.name] != col.typ {
			return fmt.Errorf("clickhouse table %s.hits lacks column %s %s: add it to hits_local on every shard, then to hits", c.db, col.name, col.typ)
		}
	}
	return nil
}

// codeUnknownDatabase is ClickHouse's UNKNOWN_DATABASE error code.
const codeUnknownDatabase = 81

// ValidCluster accepts the names a remote_servers element can have.
func ValidCluster(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("invalid clickhouse cluster %q: 1 to 64 characters", name)
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return fmt.Errorf("invalid clickhouse cluster %q: letters, digits, _, - and . only", name)
		}
	}
	return nil
}

func createDatabase(ctx context.Context, opts *ch.Options, db string) error {
	conn, err := ch.Open(opts)
	if err != nil {
		return fmt.Errorf("cannot connect to clickhouse: %w", err)
	}
	defer conn.Close()
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(db)); err != nil {
		return fmt.Errorf("cannot create clickhouse database %s: %w", db, err)
	}
	return nil
}

// Cluster returns the cluster the Client's hits table spans, "" for none.
func (c *Client) Cluster() string { return c.cluster }

// Database returns the name of the database the Client uses.
func (c *Client) Database() string { return c.db }

// Ping checks that the server answers (for /readyz).
func (c *Client) Ping(ctx context.Context) error {
	if err := c.conn.Ping(ctx); err != nil {
		return fmt.Errorf("cannot ping clickhouse: %w", err)
	}
	return nil
}

// Close closes the connections. Calls in progress fail.
func (c *Client) Close() error {
	if err := c.conn.Close(); err != nil {
		return fmt.Errorf("cannot close clickhouse client: %w", err)
	}
	return nil
}
