package clickhouse

import (
	"strings"
	"testing"
)

// Open creates the database and the table; a second Open changes nothing.
func TestOpenMigratesIdempotently(t *testing.T) {
	dsn, db := testDSN(t)
	for i := range 2 {
		c, err := Open(t.Context(), dsn)
		if err != nil {
			t.Fatalf("open %d: %v", i+1, err)
		}
		if c.Database() != db {
			t.Fatalf("database %q, want %q", c.Database(), db)
		}
		cols, err := c.columns(t.Context(), "hits")
		if err != nil {
			t.Fatal(err)
		}
		if len(cols) != len(hitColumns) {
			t.Fatalf("open %d: %d columns, want %d: %v", i+1, len(cols), len(hitColumns), cols)
		}
		for _, want := range hitColumns {
			if got := cols[want.name]; got != want.typ {
				t.Errorf("column %s is %q, want %q", want.name, got, want.typ)
			}
		}
		c.Close()
	}
}

// A table from an older release gains the columns added since.
func TestOpenAddsMissingColumns(t *testing.T) {
	c := openTest(t)
	if err := c.conn.Exec(t.Context(), "ALTER TABLE hits DROP COLUMN product_name"); err != nil {
		t.Fatal(err)
	}
	if err := c.migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	cols, err := c.columns(t.Context(), "hits")
	if err != nil {
		t.Fatal(err)
	}
	if cols["product_name"] != "String" {
		t.Fatalf("product_name not restored: %v", cols)
	}
}

func TestOpenRejectsBadDSN(t *testing.T) {
	for _, dsn := range []string{
		"http://127.0.0.1:8123/db",
		"clickhouse://127.0.0.1:9000/bad-name",
		"clickhouse://127.0.0.1:9000/a;DROP",
	} {
		if c, err := Open(t.Context(), dsn); err == nil {
			c.Close()
			t.Errorf("Open(%q) succeeded", dsn)
		}
	}
}

// The DDL constant and the column list cannot drift apart.
func TestHitsDDLMatchesColumns(t *testing.T) {
	for _, col := range hitColumns {
		if !strings.Contains(HitsDDL, col.name+" ") {
			t.Errorf("HitsDDL lacks %s", col.name)
		}
	}
}

func TestClusterDDL(t *testing.T) {
	stmts := ClusterDDL("pp")
	if len(stmts) != 2 {
		t.Fatalf("%d statements, want 2", len(stmts))
	}
	for _, want := range []string{"ON CLUSTER `pp`", "ReplicatedReplacingMergeTree(", ", version)", "email_sha256 String", "ORDER BY (account, ts, hit_id)"} {
		if !strings.Contains(stmts[0], want) {
			t.Errorf("local table DDL lacks %q:\n%s", want, stmts[0])
		}
	}
	for _, want := range []string{"AS hits_local", "Distributed(`pp`, currentDatabase(), hits_local, cityHash64(hit_id))"} {
		if !strings.Contains(stmts[1], want) {
			t.Errorf("distributed DDL lacks %q:\n%s", want, stmts[1])
		}
	}
	if s := ClusterDDL("a`b")[0]; !strings.Contains(s, "ON CLUSTER `a\\`b`") {
		t.Errorf("cluster name not quoted: %s", s)
	}
}
