package clickhouse

import (
	"os"
	"path/filepath"
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

// The cluster DDL as printed by pixelpost clickhouse-ddl. The plain
// variant also runs on the two-shard test cluster (TestClusterReports);
// the replicated one needs ZooKeeper, which the tests do not have, so only
// its text is checked here.
func TestClusterDDL(t *testing.T) {
	f := func(golden string, replicated bool) {
		t.Helper()
		want, err := os.ReadFile(filepath.Join("testdata", golden))
		if err != nil {
			t.Fatal(err)
		}
		if got := ClusterScript("pixelpost", "pp_cluster", replicated); got != string(want) {
			t.Errorf("%s differs:\n%s", golden, got)
		}
	}
	f("cluster.sql", false)
	f("cluster-replicated.sql", true)

	// Every column of hitColumns, in both variants.
	for _, replicated := range []bool{false, true} {
		local := ClusterDDL("pixelpost", "pp_cluster", replicated)[1]
		for _, col := range hitColumns {
			if !strings.Contains(local, "\n    "+col.name+" "+col.typ) {
				t.Errorf("replicated=%v: hits_local lacks %s %s", replicated, col.name, col.typ)
			}
		}
	}
	s := ClusterScript("db", "a`b'c", true)
	if !strings.Contains(s, "ON CLUSTER `a\\`b'c`") || !strings.Contains(s, "Distributed('a`b\\'c'") {
		t.Errorf("cluster name not quoted:\n%s", s)
	}
}
