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
	conn driver.Conn
	db   string
}

// Open connects to dsn, clickhouse://[user[:password]@]host:port/db[?options]
// (native protocol; options as clickhouse-go's ParseDSN, e.g.
// compress=lz4, dial_timeout=2s), creates the database if it is missing and
// migrates the hits table. Migrations are idempotent: Open on an up-to-date
// database changes nothing.
func Open(ctx context.Context, dsn string) (*Client, error) {
	if !strings.HasPrefix(dsn, "clickhouse://") {
		return nil, errors.New("invalid clickhouse dsn: want clickhouse://host:port/db (native protocol)")
	}
	opts, err := ch.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("invalid clickhouse dsn: %w", err)
	}
	db := opts.Auth.Database
	if db == "" {
		db = "default"
	}
	if err := validDatabase(db); err != nil {
		return nil, err
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = defaultDialTimeout
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
	return c, nil
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
