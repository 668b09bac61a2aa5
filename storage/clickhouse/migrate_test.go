package clickhouse

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/storage"
)

// hitsDDLByMonth is the hits table as releases before daily partitions
// created it.
var hitsDDLByMonth = strings.Replace(HitsDDL, "PARTITION BY "+hitsPartition, "PARTITION BY toYYYYMM(ts)", 1)

// partitionKey is a table's partitioning key, "" when it does not exist.
func partitionKey(t testing.TB, c *Client, table string) string {
	t.Helper()
	var key string
	err := c.conn.QueryRow(t.Context(), "SELECT partition_key FROM system.tables WHERE database = ? AND name = ?", c.db, table).Scan(&key)
	if err != nil && !strings.Contains(err.Error(), "no rows") {
		t.Fatalf("partition key of %s: %v", table, err)
	}
	return key
}

// partitions counts the active partitions of a table.
func partitions(t testing.TB, c *Client, table string) uint64 {
	t.Helper()
	var n uint64
	if err := c.conn.QueryRow(t.Context(), "SELECT uniqExact(partition) FROM system.parts WHERE database = ? AND table = ? AND active", c.db, table).Scan(&n); err != nil {
		t.Fatalf("partitions of %s: %v", table, err)
	}
	return n
}

// oldLayoutHits is what the tests store in a monthly table: the report
// fixture, its degraded replayed copies, and hits of the month before.
func oldLayoutHits() []storage.Hit {
	hits := append(fixture(), replayed(fixture())...)
	for i, h := range manyHits("feb", 30) {
		h.Time = day0.AddDate(0, -1, 0).Add(time.Duration(i) * time.Hour)
		hits = append(hits, h)
	}
	return hits
}

// monthlyTable replaces c's hits table by one of the old layout holding
// hits, and returns the rows the reports read from it.
func monthlyTable(t testing.TB, c *Client, hits []storage.Hit) []storage.Hit {
	t.Helper()
	for _, q := range []string{"DROP TABLE hits", hitsDDLByMonth} {
		if err := c.conn.Exec(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := c.Insert(t.Context(), hits); err != nil {
		t.Fatal(err)
	}
	if key := partitionKey(t, c, "hits"); key != "toYYYYMM(ts)" {
		t.Fatalf("old table partitioned by %q", key)
	}
	return rowsOf(t, c)
}

// rowsOf reads the rows of the test accounts (not the filler).
func rowsOf(t testing.TB, c *Client) []storage.Hit {
	t.Helper()
	var rows []storage.Hit
	for _, acct := range []string{"acme", "bulk", "other"} {
		if err := c.Rows(t.Context(), acct, func(h storage.Hit) error { rows = append(rows, h); return nil }); err != nil {
			t.Fatalf("rows: %v", err)
		}
	}
	return rows
}

// checkRepartitioned checks that hits is partitioned by day and holds
// want, that the reports read the fixture as before, and that the old
// table is kept.
func checkRepartitioned(t testing.TB, c *Client, want []storage.Hit, oldRows uint64) {
	t.Helper()
	if key := partitionKey(t, c, "hits"); key != hitsPartition {
		t.Fatalf("hits partitioned by %q, want %q", key, hitsPartition)
	}
	if got := rowsOf(t, c); !reflect.DeepEqual(got, want) {
		t.Fatalf("rows after the repartitioning differ:\n got %+v\nwant %+v", got, want)
	}
	if tt, ok := t.(*testing.T); ok {
		checkReports(tt, c)
	}
	if key := partitionKey(t, c, oldHitsTable); key != "toYYYYMM(ts)" {
		t.Errorf("old table %s partitioned by %q, want it kept", oldHitsTable, key)
	}
	if n, err := c.count(t.Context(), oldHitsTable); err != nil || n != oldRows {
		t.Errorf("old table holds %d rows (%v), want %d", n, err, oldRows)
	}
	if key := partitionKey(t, c, newHitsTable); key != "" {
		t.Errorf("%s left behind", newHitsTable)
	}
}

// A new table has a partition a day: one per day of hits.
func TestHitsPartitionedByDay(t *testing.T) {
	c := openTest(t)
	if key := partitionKey(t, c, "hits"); key != "toYYYYMMDD(ts)" {
		t.Fatalf("hits partitioned by %q, want toYYYYMMDD(ts)", key)
	}
	var hits []storage.Hit
	for d := range 3 {
		hits = append(hits, manyHits(fmt.Sprintf("d%d", d), 5)...)
		for i := len(hits) - 5; i < len(hits); i++ {
			hits[i].Time = hits[i].Time.AddDate(0, 0, d)
		}
	}
	if err := c.Insert(t.Context(), hits); err != nil {
		t.Fatal(err)
	}
	if n := partitions(t, c, "hits"); n != 3 {
		t.Fatalf("%d partitions for hits of 3 days of one month, want 3", n)
	}
}

// A small table of an older release is repartitioned by day when pixelpost
// starts: same rows, same reports, the old table kept; starting again
// changes nothing.
func TestRepartitionAtStart(t *testing.T) {
	dsn, _ := testDSN(t)
	c, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hits := oldLayoutHits()
	want := monthlyTable(t, c, hits)
	for i := range 2 {
		c2, err := Open(t.Context(), dsn)
		if err != nil {
			t.Fatalf("open %d: %v", i+1, err)
		}
		if c2.RepartitionPending() {
			t.Errorf("open %d: repartitioning left pending for a small table", i+1)
		}
		checkRepartitioned(t, c2, want, uint64(len(hits)))
		c2.Close()
	}
	if n := partitions(t, c, "hits"); n < 4 {
		t.Errorf("%d partitions, want one per day (at least 4)", n)
	}
	// Inserts go to the new table.
	if err := c.Insert(t.Context(), manyHits("after", 3)); err != nil {
		t.Fatal(err)
	}
	if n := countFinal(t, c); n != uint64(len(want)+3) {
		t.Fatalf("%d rows, want %d", n, len(want)+3)
	}
}

// A repartitioning interrupted at any step is completed by the next run:
// after the rename (inserts fail meanwhile: the shipper retries them), and
// with a month copied in part (its rows copied again are deduped).
func TestRepartitionResumes(t *testing.T) {
	for _, partial := range []bool{false, true} {
		t.Run(fmt.Sprintf("partial=%v", partial), func(t *testing.T) {
			dsn, _ := testDSN(t)
			c, err := Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			hits := oldLayoutHits()
			want := monthlyTable(t, c, hits)
			if err := c.repartitionStart(t.Context()); err != nil {
				t.Fatal(err)
			}
			if partial {
				q := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s WHERE toYYYYMM(ts) = 202403 LIMIT 5",
					newHitsTable, columnNames(), columnNames(), oldHitsTable)
				if err := c.conn.Exec(t.Context(), q); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.Insert(t.Context(), manyHits("during", 1)); err == nil {
				t.Fatal("an insert during the repartitioning succeeded: where did it go?")
			}
			c2, err := Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer c2.Close()
			checkRepartitioned(t, c2, want, uint64(len(hits)))
		})
	}
}

// Several processes repartitioning at once end with one table, every row
// once.
func TestRepartitionConcurrently(t *testing.T) {
	dsn, _ := testDSN(t)
	c, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hits := oldLayoutHits()
	want := monthlyTable(t, c, hits)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.Repartition(t.Context(), nil)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("repartitioning %d: %v", i+1, err)
		}
	}
	if err := c.Repartition(t.Context(), nil); err != nil { // cleans up a copy made in the race
		t.Fatal(err)
	}
	checkRepartitioned(t, c, want, uint64(len(hits)))
}

// A table too large for a start-up keeps working in its old layout, and
// RepartitionPending says so; Repartition (pixelpost
// clickhouse-repartition) then moves it, month by month.
func TestRepartitionLargeTableByCommand(t *testing.T) {
	dsn, _ := testDSN(t)
	c, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hits := oldLayoutHits()
	monthlyTable(t, c, hits)
	// Filler rows of another account, over two months.
	filler := fmt.Sprintf(`INSERT INTO hits (hit_id, ts, ts_ms, account, kind, status, webinar_ids, macro_keys, macro_values, version)
		SELECT concat('fill-', toString(number)), toDateTime(1706745600 + number %% 5000000), (1706745600 + number %% 5000000) * 1000,
		       'filler', 'pixel', 'accepted', emptyArrayString(), emptyArrayString(), emptyArrayString(), 1
		FROM system.numbers LIMIT %d`, autoRepartitionRows)
	if err := c.conn.Exec(t.Context(), filler); err != nil {
		t.Fatal(err)
	}
	total := uint64(len(hits) + autoRepartitionRows)

	c2, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if !c2.RepartitionPending() {
		t.Fatal("a table of more than autoRepartitionRows rows is not left for the command")
	}
	if key := partitionKey(t, c2, "hits"); key != "toYYYYMM(ts)" {
		t.Fatalf("hits partitioned by %q at start-up, want it left as it was", key)
	}
	if err := c2.Insert(t.Context(), manyHits("before-cmd", 2)); err != nil {
		t.Fatalf("insert into the old layout: %v", err)
	}
	want := rowsOf(t, c2)
	total += 2

	var months []uint32
	var copied uint64
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	if err := c2.Repartition(ctx, func(m uint32, rows uint64) { months = append(months, m); copied += rows }); err != nil {
		t.Fatal(err)
	}
	t.Logf("repartitioned %d rows", total)
	if copied != total || !reflect.DeepEqual(months, []uint32{202402, 202403}) {
		t.Errorf("progress: months %v, %d rows; want [202402 202403], %d rows", months, copied, total)
	}
	if got := rowsOf(t, c2); !reflect.DeepEqual(got, want) {
		t.Fatalf("rows differ after the repartitioning: %d, want %d", len(got), len(want))
	}
	if n, distinct := countFinal(t, c2), uint64(len(want)+autoRepartitionRows); n != distinct {
		t.Fatalf("%d rows after the repartitioning, want %d", n, distinct)
	}
	if key := partitionKey(t, c2, "hits"); key != hitsPartition {
		t.Fatalf("hits partitioned by %q, want %q", key, hitsPartition)
	}
	if c3, err := Open(t.Context(), dsn); err != nil || c3.RepartitionPending() {
		t.Fatalf("open after the command: pending=%v, %v", c3 != nil && c3.RepartitionPending(), err)
	} else {
		c3.Close()
	}
}

// A hits table recreated by a process of an older release during a
// repartitioning stops it with instructions, and nothing is changed.
func TestRepartitionRefusesARecreatedTable(t *testing.T) {
	c := openTest(t)
	monthlyTable(t, c, oldLayoutHits())
	if err := c.repartitionStart(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := c.conn.Exec(t.Context(), hitsDDLByMonth); err != nil {
		t.Fatal(err)
	}
	err := c.Repartition(t.Context(), nil)
	if err == nil || !strings.Contains(err.Error(), "INSERT INTO "+oldHitsTable+" SELECT * FROM hits") {
		t.Fatalf("err = %v, want instructions", err)
	}
	if key := partitionKey(t, c, oldHitsTable); key == "" {
		t.Fatal("old table gone")
	}
	if err := c.conn.Exec(t.Context(), "DROP TABLE hits"); err != nil { // lets the cleanup open the database
		t.Fatal(err)
	}
}

// The cluster DDL partitions hits_local by day too.
func TestClusterHitsPartitionedByDay(t *testing.T) {
	tc := openTestCluster(t)
	for i, conn := range tc.shards {
		var key string
		if err := conn.QueryRow(t.Context(), "SELECT partition_key FROM system.tables WHERE database = ? AND name = 'hits_local'", tc.db).Scan(&key); err != nil {
			t.Fatal(err)
		}
		if key != hitsPartition {
			t.Errorf("shard %d: hits_local partitioned by %q, want %q", i+1, key, hitsPartition)
		}
	}
}
