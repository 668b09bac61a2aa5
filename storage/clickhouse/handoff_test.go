package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/pipeline"
	"github.com/pixelpost/pixelpost/storage/wal"
)

// acceptAll is a ledger that accepts every op: the shipper's side of the
// pipeline is under test, not the ledger's.
type acceptAll struct{ storage.Ledger }

func (acceptAll) Apply(_ context.Context, ops []storage.Op) ([]storage.Result, error) {
	res := make([]storage.Result, len(ops))
	for i := range ops {
		res[i] = storage.Result{Status: storage.StatusAccepted, Delta: ops[i].Amount,
			Credited: ops[i].Webinars, AttendeeID: "att-" + ops[i].HitID}
	}
	return res, nil
}

// shipLine is a pipeline (its applier running) and a shipper fed by its
// handoff.
type shipLine struct {
	p       *pipeline.Pipeline
	s       *Shipper
	stopRun func()
	stopApp func()
}

func openLine(t testing.TB, dir string, client Inserter, handoffRows int, ship bool) *shipLine {
	t.Helper()
	p, err := pipeline.Open(pipeline.Config{Dir: dir, NoSync: true, HandoffRows: handoffRows},
		pipeline.Deps{Ledger: acceptAll{}, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, 10*time.Second) }()
	line := &shipLine{p: p}
	var stopped bool
	line.stopApp = func() {
		if stopped {
			return
		}
		stopped = true
		if line.stopRun != nil {
			line.stopRun()
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("applier: %v", err)
		}
		p.Close()
	}
	t.Cleanup(line.stopApp)
	if ship {
		line.s = NewShipper(ShipperConfig{MaxBatch: 500, MaxDelay: 20 * time.Millisecond},
			ShipperDeps{Log: p.Rows(), Client: client, Logger: zerolog.New(zerolog.NewTestWriter(t)),
				Backoff: fastBackoff, Handoff: p.Handoff()})
		line.stopRun = runShipper(t, line.s)
	}
	return line
}

// record records n pending pixel hits named prefix-i, in requests of 50.
func (l *shipLine) record(t testing.TB, prefix string, n int) {
	t.Helper()
	for i := 0; i < n; i += 50 {
		hits := make([]storage.Hit, 0, 50)
		for j := i; j < min(i+50, n); j++ {
			hits = append(hits, storage.Hit{ID: fmt.Sprintf("%s-%06d", prefix, j), Kind: storage.KindPixel,
				Time: day0.Add(time.Duration(j) * time.Millisecond), Account: "acme",
				Webinars: []string{"w1"}, HasAmount: true, Amount: attribution.Micros(1_000_000), Currency: "USD",
				OrderID: fmt.Sprintf("o-%s-%d", prefix, j), Email: "alice@example.com", EmailSHA256: "sha-alice"})
		}
		if err := l.p.RecordAll(hits); err != nil {
			t.Fatal(err)
		}
	}
}

// waitShipped waits until every row written so far is in ClickHouse.
func (l *shipLine) waitShipped(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := l.p.Sync(ctx); err != nil {
		t.Fatalf("hits not applied: %v", err)
	}
	if err := l.s.WaitShipped(ctx, l.p.Rows().End()); err != nil {
		t.Fatalf("rows not shipped: %v (stats %+v)", err, l.s.Stats())
	}
}

// wantExactlyOnce checks that ClickHouse holds n rows, each sent once
// (the raw count, before any merge could hide a double).
func wantExactlyOnce(t testing.TB, c *Client, n uint64) {
	t.Helper()
	var raw uint64
	if err := c.conn.QueryRow(t.Context(), "SELECT count() FROM hits").Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if d := countDistinct(t, c); raw != n || d != n {
		t.Fatalf("%d rows sent, %d distinct hits; want %d of each", raw, d, n)
	}
}

// A shipper that keeps up takes every row from the applier's memory: it
// neither reads nor decodes the rows log, and every row arrives once.
func TestShipperTakesRowsFromMemoryWhenKeepingUp(t *testing.T) {
	c := openTest(t)
	line := openLine(t, t.TempDir(), c, pipeline.DefaultHandoffRows, true)
	for round := range 5 {
		line.record(t, fmt.Sprintf("r%d", round), 400)
		line.waitShipped(t)
	}
	st := line.s.Stats()
	if st.FromMemory != 2000 || st.FromLog != 0 || st.Shipped != 2000 {
		t.Fatalf("stats %+v: want 2000 rows shipped, all from memory", st)
	}
	wantExactlyOnce(t, c, 2000)
}

// gate fails every insert while it is shut.
type gate struct {
	Inserter
	shut atomic.Bool
}

func (g *gate) newInsert(ctx context.Context) (driver.Batch, error) {
	if g.shut.Load() {
		return nil, errors.New("connection refused")
	}
	return g.Inserter.newInsert(ctx)
}

// A shipper that falls behind (ClickHouse down, a queue too small for a
// burst) reads what it missed from the log, then takes rows from memory
// again once it caught up; no row is lost or sent twice.
func TestShipperCatchesUpFromTheLogThenTakesMemoryAgain(t *testing.T) {
	c := openTest(t)
	g := &gate{Inserter: c}
	line := openLine(t, t.TempDir(), g, 300, true)

	line.record(t, "up", 200)
	line.waitShipped(t)
	if st := line.s.Stats(); st.FromMemory != 200 || st.FromLog != 0 {
		t.Fatalf("before the outage: %+v, want 200 rows from memory", st)
	}

	g.shut.Store(true)
	line.record(t, "down", 1000) // more than the queue holds
	waitFor(t, "the outage seen", func() bool { return line.s.Stats().Failures >= 2 })
	g.shut.Store(false)
	line.waitShipped(t)
	caughtUp := line.s.Stats()
	if caughtUp.FromLog < 1000-300 {
		t.Fatalf("after the outage: %+v, want at least the 700 rows the queue could not hold read from the log", caughtUp)
	}

	line.record(t, "again", 300)
	line.waitShipped(t)
	st := line.s.Stats()
	if st.FromLog != caughtUp.FromLog || st.FromMemory != caughtUp.FromMemory+300 {
		t.Fatalf("after catching up: %+v (then %+v), want the 300 new rows from memory", st, caughtUp)
	}
	if st.Shipped != 1500 {
		t.Fatalf("shipped %d, want 1500", st.Shipped)
	}
	wantExactlyOnce(t, c, 1500)
}

// After a restart the shipper reads the rows it had not shipped from the
// log, from its cursor, then takes the new ones from memory.
func TestShipperRestartReadsTheLogFromItsCursor(t *testing.T) {
	c := openTest(t)
	dir := t.TempDir()
	first := openLine(t, dir, c, pipeline.DefaultHandoffRows, true)
	first.record(t, "shipped", 300)
	first.waitShipped(t)
	first.stopRun() // the shipper stops; the applier writes on
	first.record(t, "waiting", 400)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := first.p.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	first.stopApp()

	second := openLine(t, dir, c, pipeline.DefaultHandoffRows, true)
	second.waitShipped(t)
	second.record(t, "new", 200)
	second.waitShipped(t)
	if st := second.s.Stats(); st.FromLog != 400 || st.FromMemory != 200 {
		t.Fatalf("stats %+v: want the 400 waiting rows from the log, the 200 new ones from memory", st)
	}
	wantExactlyOnce(t, c, 900)
}

// An erasure rewrites the rows log: rows still queued in memory are the
// log's before the rewrite, so the shipper must read the rewritten log.
func TestShipperShipsNoErasedRowFromMemory(t *testing.T) {
	c := openTest(t)
	line := openLine(t, t.TempDir(), c, pipeline.DefaultHandoffRows, false)
	line.record(t, "alice", 20) // decided rows wait in the handoff: no shipper yet
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := line.p.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	e := &storage.RowErasure{Account: "acme", EmailSHA256: "sha-alice", AttendeeID: "att-alice-000000",
		At: day0.Add(time.Hour)}
	if _, err := line.p.EraseRows(e); err != nil {
		t.Fatal(err)
	}
	line.s = NewShipper(ShipperConfig{MaxBatch: 500, MaxDelay: 20 * time.Millisecond},
		ShipperDeps{Log: line.p.Rows(), Client: c, Logger: zerolog.New(zerolog.NewTestWriter(t)),
			Backoff: fastBackoff, Handoff: line.p.Handoff()})
	line.stopRun = runShipper(t, line.s)
	line.waitShipped(t)
	if st := line.s.Stats(); st.FromMemory != 0 {
		t.Fatalf("stats %+v: rows shipped from memory after an erasure rewrote the log", st)
	}
	if n := countFinal(t, c); n != 0 {
		t.Fatalf("%d rows of an erased person in ClickHouse", n)
	}
}

// Records an erasure erased at the end of the log hold nothing to ship,
// but the shipper must pass them: WaitShipped (an erasure waits for it)
// returns once they are behind it.
func TestWaitShippedPassesErasedRecordsAtTheEnd(t *testing.T) {
	c := openTest(t)
	l := openLog(t, wal.Options{Dir: t.TempDir()})
	s := NewShipper(ShipperConfig{MaxDelay: 20 * time.Millisecond},
		ShipperDeps{Log: l, Client: c, Logger: zerolog.New(zerolog.NewTestWriter(t)), Backoff: fastBackoff})
	appendHits(t, l, manyHits("gone", 10))
	if _, err := l.Rotate(); err != nil { // Rewrite changes sealed segments
		t.Fatal(err)
	}
	if _, err := l.Rewrite(func([]byte) ([]byte, bool) { return nil, true }); err != nil {
		t.Fatal(err)
	}
	runShipper(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.WaitShipped(ctx, l.End()); err != nil {
		t.Fatalf("waiting for erased records to be passed: %v (stats %+v)", err, s.Stats())
	}
	if n := countFinal(t, c); n != 0 {
		t.Fatalf("%d erased rows shipped", n)
	}
}
