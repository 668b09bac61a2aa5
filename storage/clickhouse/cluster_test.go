package clickhouse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"

	"github.com/pixelpost/pixelpost/internal/testenv"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/reportstest"
	"github.com/pixelpost/pixelpost/storage/wal"
)

// testCluster is a database of its own on the two-shard test cluster,
// created with ClusterDDL on every shard (no ON CLUSTER: there is no
// ZooKeeper) and dropped when the test ends.
type testCluster struct {
	name, db string
	shards   []driver.Conn // one connection per shard server
	client   *Client       // pixelpost's view: the Distributed table, through shard 0
}

func openTestCluster(t *testing.T) *testCluster {
	t.Helper()
	cl := testenv.ClickHouseClusterOf(t)
	var b [4]byte
	rand.Read(b[:])
	tc := &testCluster{name: cl.Name, db: "pp_cluster_" + hex.EncodeToString(b[:])}
	for _, addr := range cl.Shards {
		conn, err := ch.Open(&ch.Options{Addr: []string{addr}, DialTimeout: 5 * time.Second})
		if err != nil {
			t.Fatalf("cannot connect to shard %s: %v", addr, err)
		}
		tc.shards = append(tc.shards, conn)
		for _, stmt := range ClusterDDL(tc.db, tc.name, false) {
			if err := conn.Exec(t.Context(), stmt); err != nil {
				t.Fatalf("shard %s: cannot run %s: %v", addr, stmt, err)
			}
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, conn := range tc.shards {
			if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(tc.db)); err != nil {
				t.Logf("cannot drop test database %s: %v", tc.db, err)
			}
			conn.Close()
		}
	})
	c, err := Connect(t.Context(), Config{DSN: "clickhouse://" + cl.Shards[0] + "/" + tc.db, Cluster: tc.name})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	tc.client = c
	return tc
}

// localRows counts the rows (copies included) each shard holds.
func (tc *testCluster) localRows(t *testing.T) []uint64 {
	t.Helper()
	var out []uint64
	for i, conn := range tc.shards {
		var n uint64
		if err := conn.QueryRow(t.Context(), "SELECT count() FROM "+quoteIdent(tc.db)+".hits_local").Scan(&n); err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
		out = append(out, n)
	}
	return out
}

// shipThroughCluster ships every batch through a real Shipper into the
// cluster's Distributed table, in small inserts (several parts per shard,
// which FINAL must merge), and waits until all are shipped.
func shipThroughCluster(t *testing.T, c *Client, batches ...[]storage.Hit) {
	t.Helper()
	l := openLog(t, wal.Options{Dir: t.TempDir()})
	total := uint64(0)
	for _, b := range batches {
		appendHits(t, l, b)
		total += uint64(len(b))
	}
	s := NewShipper(ShipperConfig{MaxBatch: 7, MaxDelay: 10 * time.Millisecond},
		ShipperDeps{Log: l, Client: c, Logger: zerolog.New(zerolog.NewTestWriter(t))})
	stop := runShipper(t, s)
	waitFor(t, "every row shipped to the cluster", func() bool { st := s.Stats(); return st.Shipped == total && st.Lag == 0 })
	stop()
	if st := s.Stats(); st.Failures != 0 {
		t.Fatalf("shipper failures: %+v", st)
	}
}

// Through the Distributed table, with every hit shipped again and with its
// degraded replayed copy: rows land on both shards, each copy of a hit on
// the shard of its hit_id, and the reports and the rows reconcile folds
// are those of a single server.
func TestClusterReports(t *testing.T) {
	t.Run("webinars", func(t *testing.T) {
		tc := openTestCluster(t)
		hits := fixture()
		shipThroughCluster(t, tc.client, hits, replayed(hits), hits)
		checkShards(t, tc, len(hits))
		checkReports(t, tc.client)

		// The reconcile source reads the same rows as on one server.
		single := openTest(t)
		for _, b := range [][]storage.Hit{hits, replayed(hits), hits} {
			if err := single.Insert(t.Context(), b); err != nil {
				t.Fatal(err)
			}
		}
		want, got := allRows(t, single), allRows(t, tc.client)
		if len(got) != len(hits) || !reflect.DeepEqual(got, want) {
			t.Errorf("cluster rows differ from the single server's:\n got %+v\nwant %+v", got, want)
		}
		accounts, err := tc.client.Accounts(t.Context())
		if err != nil || !reflect.DeepEqual(accounts, []string{"acme", "other"}) {
			t.Errorf("accounts %v, %v", accounts, err)
		}
	})
	t.Run("report suite", func(t *testing.T) {
		tc := openTestCluster(t)
		hits := reportstest.Hits()
		shipThroughCluster(t, tc.client, hits, reportstest.Replayed(hits), hits)
		ids := map[string]bool{}
		for _, h := range hits {
			ids[h.ID] = true
		}
		checkShards(t, tc, len(ids)) // the fixture holds a hit written twice
		// Postbacks and their clicks have different hit ids, so they are
		// mostly on different shards: the source and network lookup of
		// the campaign report must see every shard's clicks.
		reportstest.Run(t, tc.client)
	})
}

// checkShards checks that both shards hold rows, every hit on one shard
// only (copies may already be merged away, so only distinct ids count).
func checkShards(t *testing.T, tc *testCluster, hits int) {
	t.Helper()
	for i, n := range tc.localRows(t) {
		if n == 0 {
			t.Errorf("shard %d holds no rows", i)
		}
	}
	ids, spread := spreadByShard(t, tc)
	if ids != hits || spread != 0 {
		t.Errorf("%d hit ids on the shards (want %d), %d of them on more than one shard", ids, hits, spread)
	}
}

// spreadByShard counts the distinct hit ids of the shards, and those
// present on more than one shard.
func spreadByShard(t *testing.T, tc *testCluster) (ids int, spread int) {
	t.Helper()
	seen := map[string]int{}
	for i, conn := range tc.shards {
		rows, err := conn.Query(t.Context(), "SELECT DISTINCT hit_id FROM "+quoteIdent(tc.db)+".hits_local")
		if err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			seen[id]++
		}
		rows.Close()
	}
	for _, c := range seen {
		if c > 1 {
			spread++
		}
	}
	return len(seen), spread
}

func allRows(t *testing.T, c *Client) []storage.Hit {
	t.Helper()
	var rows []storage.Hit
	if err := c.Rows(t.Context(), "", func(h storage.Hit) error { rows = append(rows, h); return nil }); err != nil {
		t.Fatalf("rows: %v", err)
	}
	return rows
}

// Connect with a cluster creates nothing and says what is missing.
func TestClusterConnectChecksTables(t *testing.T) {
	cl := testenv.ClickHouseClusterOf(t)
	var b [4]byte
	rand.Read(b[:])
	db := "pp_cluster_missing_" + hex.EncodeToString(b[:])
	_, err := Connect(t.Context(), Config{DSN: "clickhouse://" + cl.Shards[0] + "/" + db, Cluster: cl.Name})
	if err == nil || !strings.Contains(err.Error(), "clickhouse-ddl --cluster") {
		t.Fatalf("connect to a database without tables: %v", err)
	}
	conn, err := ch.Open(&ch.Options{Addr: []string{cl.Shards[0]}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n uint64
	if err := conn.QueryRow(t.Context(), "SELECT count() FROM system.databases WHERE name = ?", db).Scan(&n); err != nil || n != 0 {
		t.Fatalf("database %s created by a cluster connect (%d, %v)", db, n, err)
	}

	tc := openTestCluster(t)
	if _, err := Connect(t.Context(), Config{DSN: "clickhouse://" + cl.Shards[0] + "/" + tc.db, Cluster: "no_such_cluster"}); err == nil ||
		!strings.Contains(err.Error(), "remote_servers") {
		t.Errorf("unknown cluster: %v", err)
	}
	if err := tc.shards[0].Exec(t.Context(), "ALTER TABLE "+quoteIdent(tc.db)+".hits DROP COLUMN raw_status"); err != nil {
		t.Fatal(err)
	}
	if _, err := Connect(t.Context(), Config{DSN: "clickhouse://" + cl.Shards[0] + "/" + tc.db, Cluster: cl.Name}); err == nil ||
		!strings.Contains(err.Error(), "lacks column raw_status") {
		t.Errorf("missing column: %v", err)
	}
	if _, err := Connect(t.Context(), Config{DSN: "clickhouse://" + cl.Shards[0] + "/" + tc.db, Cluster: "a b"}); err == nil {
		t.Error("bad cluster name accepted")
	}
}

// The replicated DDL cannot run without ZooKeeper, which the tests do not
// have: the server parses each statement and refuses it only for that
// (ClickHouse parses a query before it plans it; a syntax error is refused
// first, with code 62). Engine arguments and macros are not checked here.
func TestClusterDDLReplicatedParses(t *testing.T) {
	tc := openTestCluster(t)
	for _, stmt := range ClusterDDL(tc.db+"_replicated", tc.name, true) {
		err := tc.shards[0].Exec(t.Context(), stmt)
		var ex *ch.Exception
		if !errors.As(err, &ex) || ex.Code == 62 ||
			!strings.Contains(err.Error(), "DDL background thread is not initialized") && !strings.Contains(err.Error(), "ZooKeeper") {
			t.Errorf("want a refusal for want of ZooKeeper, got %v for\n%s", err, stmt)
		}
	}
}

// Erasure through a cluster client deletes the attendee's rows, copies
// included, on every shard (a Distributed table takes no mutation).
func TestClusterDeleteAttendee(t *testing.T) {
	tc := openTestCluster(t)
	hits := fixture()
	shipThroughCluster(t, tc.client, hits, replayed(hits))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := tc.client.DeleteAttendee(ctx, "acme", "sha-a1", "B", "C"); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range allRows(t, tc.client) {
		ids = append(ids, h.ID)
	}
	if !reflect.DeepEqual(ids, []string{"early", "other", "u1", "d1", "r1", "m1", "pb1", "w2", "late"}) {
		t.Errorf("rows left %v", ids)
	}
	for i, conn := range tc.shards {
		var n uint64
		q := "SELECT count() FROM " + quoteIdent(tc.db) + ".hits_local WHERE hit_id IN ('a1', 'a2', 'reg1')"
		if err := conn.QueryRow(t.Context(), q).Scan(&n); err != nil || n != 0 {
			t.Errorf("shard %d keeps %d copies of the erased rows (%v)", i, n, err)
		}
	}
}
