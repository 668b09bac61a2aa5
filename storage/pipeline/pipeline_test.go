package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/internal/testenv"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/embedded"
	"github.com/pixelpost/pixelpost/storage/redisledger"
	"github.com/pixelpost/pixelpost/storage/wal"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// running is a Pipeline with its applier goroutine.
type running struct {
	*Pipeline
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, dir string, l storage.Ledger, cfg Config) *running {
	t.Helper()
	cfg.Dir = dir
	p, err := Open(cfg, Deps{Ledger: l, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Pipeline: p, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- p.Run(ctx, 5*time.Second) }()
	t.Cleanup(r.stop)
	return r
}

// stop drains, stops the applier and closes the logs (idempotent).
func (r *running) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	<-r.done
	r.Close()
}

func (r *running) sync(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.Sync(ctx); err != nil {
		t.Fatalf("hits not applied: %v (stats %+v)", err, r.Stats())
	}
}

func embeddedLedger(t *testing.T) storage.Ledger {
	l, err := embedded.Open(t.TempDir()+"/ledger.db", embedded.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func account(t *testing.T, l storage.Ledger) string {
	t.Helper()
	id := fmt.Sprintf("pl%d", time.Now().UnixNano())
	if err := l.PutAccount(context.Background(), storage.Account{ID: id, Name: "x", DefaultCurrency: "USD"}); err != nil {
		t.Fatal(err)
	}
	return id
}

// sale is the hit of a thank-you page: order i, 10.00 USD, webinar w1.
func sale(acct string, i int) *storage.Hit {
	return &storage.Hit{
		ID: fmt.Sprintf("h%06d-%d", i, time.Now().UnixNano()), Time: t0.Add(time.Duration(i) * time.Millisecond),
		Account: acct, Kind: storage.KindPixel, Webinars: []string{"w1"},
		OrderID: fmt.Sprint("o", i), OrderKey: fmt.Sprint("o:o", i), HasAmount: true,
		Amount: 10 * attribution.MicrosPerUnit, Currency: "USD", Source: "pixel",
		Email: fmt.Sprintf("p%d@example.com", i%7),
	}
}

func rows(t *testing.T, l *wal.Log) []storage.Hit {
	t.Helper()
	r := l.NewReader(l.First())
	defer r.Close()
	var out []storage.Hit
	for {
		rec, _, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		h, err := storage.DecodeHit(rec)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h)
	}
}

func wantSales(t *testing.T, l storage.Ledger, acct string, n int64) {
	t.Helper()
	st, err := l.WebinarStats(context.Background(), acct, "w1")
	if err != nil {
		t.Fatal(err)
	}
	if st.Sales != n || st.Revenue["USD"] != attribution.Micros(n*10*attribution.MicrosPerUnit) {
		t.Fatalf("w1: %d sales, %v revenue; want %d sales of 10 USD", st.Sales, st.Revenue, n)
	}
}

func TestConcurrentHitsAreAppliedOnceWithRows(t *testing.T) {
	l := embeddedLedger(t)
	acct := account(t, l)
	p := start(t, t.TempDir(), l, Config{})
	var wg sync.WaitGroup
	for g := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				h := sale(acct, g*25+i)
				if err := p.Record(h); err != nil {
					t.Error(err)
				}
				// The same order again (a refresh): never a second sale.
				h.ID += "-refresh"
				if err := p.Record(h); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	p.sync(t)
	wantSales(t, l, acct, 500)
	got := rows(t, p.Rows())
	if len(got) != 1000 {
		t.Fatalf("%d rows, want 1000", len(got))
	}
	statuses := map[storage.Status]int{}
	for _, h := range got {
		statuses[h.Status]++
		if h.Status == storage.StatusAccepted && (h.Delta != 10*attribution.MicrosPerUnit || strings.Join(h.Credited, ",") != "w1") {
			t.Fatalf("accepted row %+v: want delta 10 USD credited to w1", h)
		}
	}
	if statuses[storage.StatusAccepted] != 500 || statuses[storage.StatusDuplicate] != 500 {
		t.Fatalf("statuses %v, want 500 accepted and 500 duplicate", statuses)
	}
}

func TestRejectedHitsSkipTheLedgerButGetARow(t *testing.T) {
	l := embeddedLedger(t)
	acct := account(t, l)
	p := start(t, t.TempDir(), l, Config{})
	bad := &storage.Hit{ID: "bad-1", Time: t0, Account: acct, Kind: storage.KindPixel,
		Status: storage.StatusRejected, Reason: "invalid_amount", Query: "amount=1e5"}
	if err := p.Record(bad); err != nil {
		t.Fatal(err)
	}
	if err := p.Record(sale(acct, 1)); err != nil {
		t.Fatal(err)
	}
	p.sync(t)
	got := rows(t, p.Rows())
	if len(got) != 2 || got[0].Reason != "invalid_amount" || got[0].Status != storage.StatusRejected || got[1].Status != storage.StatusAccepted {
		t.Fatalf("rows %+v", got)
	}
	if st := p.Stats(); st.Applied != 1 {
		t.Fatalf("applied %d ops, want 1 (the rejected hit never reaches the ledger)", st.Applied)
	}
}

func TestRecordAndWaitReturnsTheLedgerResult(t *testing.T) {
	l := embeddedLedger(t)
	acct := account(t, l)
	p := start(t, t.TempDir(), l, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := sale(acct, 1)
	res, err := p.RecordAndWait(ctx, h)
	if err != nil || res.Status != storage.StatusAccepted || res.Delta != 10*attribution.MicrosPerUnit {
		t.Fatalf("first: %+v, %v", res, err)
	}
	h.ID += "-again"
	if res, err = p.RecordAndWait(ctx, h); err != nil || res.Status != storage.StatusDuplicate {
		t.Fatalf("again: %+v, %v", res, err)
	}
}

// Hits recorded and acknowledged survive a restart of the pipeline before
// they were applied: nothing is lost, nothing applied twice.
func TestUnappliedHitsSurviveRestart(t *testing.T) {
	l := embeddedLedger(t)
	acct := account(t, l)
	dir := t.TempDir()
	// Record without running the applier: the process "dies" right after
	// answering.
	p, err := Open(Config{Dir: dir}, Deps{Ledger: l, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if err := p.Record(sale(acct, i)); err != nil {
			t.Fatal(err)
		}
	}
	p.Close()
	r := start(t, dir, l, Config{})
	r.sync(t)
	wantSales(t, l, acct, 40)
	r.stop()
	// A third start replays nothing.
	r = start(t, dir, l, Config{})
	r.sync(t)
	wantSales(t, l, acct, 40)
	if n := len(rows(t, r.Rows())); n != 40 {
		t.Fatalf("%d rows after restarts, want 40", n)
	}
}

// A crash after the rows were written but before the cursor was saved:
// the hits are read again, and neither applied twice nor written twice.
func TestCrashBetweenRowsAndCursorWritesNoSecondRow(t *testing.T) {
	l := embeddedLedger(t)
	acct := account(t, l)
	dir := t.TempDir()
	p, err := Open(Config{Dir: dir}, Deps{Ledger: l, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	// Do what the applier does, up to the rows append, then "crash".
	var hits []*storage.Hit
	var ops []storage.Op
	for i := range 10 {
		h := sale(acct, i)
		if err := p.Record(h); err != nil {
			t.Fatal(err)
		}
		hits, ops = append(hits, h), append(ops, h.Op())
	}
	results, err := l.Apply(context.Background(), ops)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range hits {
		h.Decided(results[i])
		if _, err := p.rows.Append(storage.AppendHit(nil, h)); err != nil {
			t.Fatal(err)
		}
	}
	p.Close()

	r := start(t, dir, l, Config{})
	r.sync(t)
	wantSales(t, l, acct, 10)
	got := rows(t, r.Rows())
	if len(got) != 10 {
		t.Fatalf("%d rows, want 10 (no second row for a hit already written)", len(got))
	}
	for _, h := range got {
		if h.Status != storage.StatusAccepted {
			t.Fatalf("row %s: %s/%s, want the original accepted row", h.ID, h.Status, h.Reason)
		}
	}
}

// While Redis cannot be reached the hits wait on disk; once it is back
// they are applied in order and the totals are exact.
func TestLedgerOutageQueuesHitsOnDisk(t *testing.T) {
	opt, err := redis.ParseURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, opt.Addr)
	l, err := redisledger.OpenURL(fmt.Sprintf("redis://%s/%d", proxy.Addr(), opt.DB))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	acct := account(t, l)
	p := start(t, t.TempDir(), l, Config{})
	for i := range 50 {
		if err := p.Record(sale(acct, i)); err != nil {
			t.Fatal(err)
		}
	}
	p.sync(t)
	wantSales(t, l, acct, 50)

	proxy.Cut()
	for i := 50; i < 150; i++ {
		if err := p.Record(sale(acct, i)); err != nil {
			t.Fatalf("a hit must be recorded while the ledger is down: %v", err)
		}
	}
	waitFor(t, "the applier to see the outage", func() bool { return p.Stats().LedgerDown })
	if st := p.Stats(); st.Backlog == 0 {
		t.Fatalf("no backlog during the outage: %+v", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_, err = p.RecordAndWait(ctx, sale(acct, 150))
	cancel()
	if !errors.Is(err, ErrQueued) {
		t.Fatalf("RecordAndWait during the outage: %v, want ErrQueued", err)
	}
	proxy.Restore()
	p.sync(t)
	wantSales(t, l, acct, 151)
	if p.Stats().LedgerDown {
		t.Fatal("still down after the ledger came back")
	}
	if n := len(rows(t, p.Rows())); n != 151 {
		t.Fatalf("%d rows, want 151", n)
	}
}

// Without a shipper freeing the rows log, the logs stop at their caps: the
// disk use is bounded and Record says so instead of growing.
func TestLogsAreBoundedByTheirCap(t *testing.T) {
	l := embeddedLedger(t)
	acct := account(t, l)
	const limit = 64 << 10
	p := start(t, t.TempDir(), l, Config{MaxBytes: limit})
	var full error
	for i := range 5000 {
		if err := p.Record(sale(acct, i)); err != nil {
			full = err
			break
		}
	}
	if !errors.Is(full, wal.ErrFull) {
		t.Fatalf("Record never failed with ErrFull: %v", full)
	}
	st := p.Stats()
	if st.Hits.Bytes > limit || st.Rows.Bytes > limit || !st.Hits.Full {
		t.Fatalf("logs over their cap or not reported full: %+v", st)
	}
}

// A node whose hits log filled while the ledger was cut drains and takes
// hits again by itself once the ledger is back: the log's space is freed
// as the applier (and the rows' shipper) move past it, even with a cap of
// the smallest size the server allows.
func TestFullLogDrainsAndRecordsAgain(t *testing.T) {
	opt, err := redis.ParseURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, opt.Addr)
	l, err := redisledger.OpenURL(fmt.Sprintf("redis://%s/%d", proxy.Addr(), opt.DB))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	acct := account(t, l)
	const limit = 1 << 20
	p := start(t, t.TempDir(), l, Config{MaxBytes: limit})
	stopShipping := shipRows(t, p.Pipeline)
	defer stopShipping()

	proxy.Cut()
	recorded := 0
	for ; ; recorded++ {
		err := p.Record(sale(acct, recorded))
		if errors.Is(err, wal.ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if recorded > 100000 {
			t.Fatal("the hits log never reached its cap")
		}
	}
	if st := p.Stats(); !st.Hits.Full || !st.Draining {
		t.Fatalf("after ErrFull: %+v, want the hits log full and the pipeline draining", st)
	}
	proxy.Restore()
	p.sync(t)
	for i := recorded; i < recorded+100; i++ {
		if err := p.Record(sale(acct, i)); err != nil {
			t.Fatalf("hit %d after the backlog drained: %v (stats %+v)", i, err, p.Stats())
		}
	}
	recorded += 100
	p.sync(t)
	wantSales(t, l, acct, int64(recorded))
	if st := p.Stats(); st.Hits.Full || st.Draining || st.LedgerDown {
		t.Fatalf("after the drain: %+v, want nothing full, down or draining", st)
	}
}

// A deferred hit (answered before its account could be read) is decided
// by the resolver before it goes to the ledger, in its place in the log:
// the hits after it wait while the resolver cannot decide it yet, and
// one the resolver refuses gets its row like any refused hit.
func TestDeferredHitsAreDecidedInOrder(t *testing.T) {
	l := embeddedLedger(t)
	acct := account(t, l)
	var mu sync.Mutex
	unavailable := 3 // the resolver's first answers: the ledger is still down
	resolve := func(_ context.Context, h *storage.Hit) error {
		mu.Lock()
		defer mu.Unlock()
		if unavailable > 0 {
			unavailable--
			return fmt.Errorf("account: %w", storage.ErrUnavailable)
		}
		if h.Deferred.Query == "bad" {
			h.Status, h.Reason = storage.StatusRejected, "invalid_amount"
			return nil
		}
		*h = *sale(acct, 0) // the order the first hit names, with its amount
		h.ID = "deferred"
		return nil
	}
	dir := t.TempDir()
	p, err := Open(Config{Dir: dir}, Deps{Ledger: l, Log: zerolog.Nop(), Resolve: resolve})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, 5*time.Second) }()
	defer func() { cancel(); <-done; p.Close() }()

	first := &storage.Hit{ID: "deferred", Time: t0, Account: acct, Kind: storage.KindPixel,
		Deferred: &storage.Request{Query: "orderId=o0&amount=10"}}
	refresh := sale(acct, 0) // the same order, answered once the account was read
	bad := &storage.Hit{ID: "bad", Time: t0, Account: acct, Kind: storage.KindPixel, Deferred: &storage.Request{Query: "bad"}}
	for _, h := range []*storage.Hit{first, refresh, bad} {
		if err := p.Record(h); err != nil {
			t.Fatal(err)
		}
	}
	sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer scancel()
	if err := p.Sync(sctx); err != nil {
		t.Fatalf("hits not decided: %v (%+v)", err, p.Stats())
	}
	got := rows(t, p.Rows())
	if len(got) != 3 {
		t.Fatalf("%d rows, want 3", len(got))
	}
	for i, want := range []struct {
		id     string
		status storage.Status
	}{{"deferred", storage.StatusAccepted}, {refresh.ID, storage.StatusDuplicate}, {"bad", storage.StatusRejected}} {
		if got[i].ID != want.id || got[i].Status != want.status || got[i].Deferred != nil {
			t.Errorf("row %d: %s %s (request kept: %v), want %s %s", i, got[i].ID, got[i].Status, got[i].Deferred != nil, want.id, want.status)
		}
	}
	wantSales(t, l, acct, 1)
}

// shipRows stands in for the ClickHouse shipper: it reads the rows log
// and releases what it read, so that the rows log is bounded by the
// backlog alone.
func shipRows(t *testing.T, p *Pipeline) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := p.Rows().NewReader(p.Rows().First())
		defer r.Close()
		for {
			for {
				if _, _, err := r.Next(); err != nil {
					break
				}
			}
			_ = p.Rows().Release(r.Pos())
			if err := p.Rows().Wait(ctx, r.Pos()); err != nil {
				return
			}
		}
	}()
	return func() { cancel(); <-done }
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Rows are not fsync'd per batch: once the applier is idle it syncs the
// rows log, then saves its cursor, which covers every hit applied.
func TestCursorSavedWhenIdleAfterRowsSync(t *testing.T) {
	l := embeddedLedger(t)
	acct := account(t, l)
	r := start(t, t.TempDir(), l, Config{})
	for i := range 30 {
		if err := r.Record(sale(acct, i)); err != nil {
			t.Fatal(err)
		}
	}
	r.sync(t)
	// The two cursors are saved one after the other: wait for both.
	deadline := time.Now().Add(5 * time.Second)
	for {
		pos, err := r.hits.Cursor(cursorLedger)
		mark, merr := r.rows.Cursor(cursorRows)
		if err == nil && merr == nil && pos == r.hits.End() && mark == r.rows.End() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ledger cursor %v (%v), rows mark %v (%v), want the logs' ends %v, %v once idle",
				pos, err, mark, merr, r.hits.End(), r.rows.End())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := r.Rows().Stats().Fsyncs; n == 0 {
		t.Error("the cursor moved before the rows log was synced")
	}
	if n := len(rows(t, r.Rows())); n != 30 {
		t.Errorf("%d rows, want 30", n)
	}
}
