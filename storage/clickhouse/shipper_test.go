package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"

	"github.com/pixelpost/pixelpost/internal/testenv"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/wal"
)

func openLog(t testing.TB, opts wal.Options) *wal.Log {
	t.Helper()
	l, err := wal.Open(opts)
	if err != nil {
		t.Fatalf("open wal: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// appendHits writes hits to the log as the pipeline does, a chunk per Append.
func appendHits(t testing.TB, l *wal.Log, hits []storage.Hit) {
	t.Helper()
	const chunk = 1000
	var buf []byte
	var recs [][]byte
	for len(hits) > 0 {
		n := min(chunk, len(hits))
		buf, recs = buf[:0], recs[:0]
		offs := make([]int, 0, n+1)
		for i := range hits[:n] {
			offs = append(offs, len(buf))
			buf = storage.AppendHit(buf, &hits[i])
		}
		offs = append(offs, len(buf))
		for i := range n {
			recs = append(recs, buf[offs[i]:offs[i+1]])
		}
		if _, err := l.Append(recs...); err != nil {
			t.Fatalf("append: %v", err)
		}
		hits = hits[n:]
	}
}

// fastBackoff keeps retry tests short.
func fastBackoff(int) time.Duration { return 20 * time.Millisecond }

// runShipper runs s until the test ends (or stop is called), and checks
// that Run returns nil.
func runShipper(t testing.TB, s *Shipper) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once bool
	stop = func() {
		if once {
			return
		}
		once = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("shipper did not stop")
		}
	}
	t.Cleanup(stop)
	return stop
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestShipperEndToEnd(t *testing.T) {
	c := openTest(t)
	l := openLog(t, wal.Options{Dir: t.TempDir(), SegmentBytes: 64 << 10})
	appendHits(t, l, manyHits("before", 2500))

	s := NewShipper(ShipperConfig{MaxBatch: 700, MaxDelay: 20 * time.Millisecond, Release: true},
		ShipperDeps{Log: l, Client: c, Logger: zerolog.New(zerolog.NewTestWriter(t))})
	stop := runShipper(t, s)
	// Tail: rows appended while the shipper waits arrive too.
	appendHits(t, l, manyHits("after", 500))
	waitFor(t, "3000 rows shipped", func() bool { st := s.Stats(); return st.Shipped == 3000 && st.Lag == 0 })
	stop()

	if n := countFinal(t, c); n != 3000 {
		t.Fatalf("%d rows, want 3000", n)
	}
	cur, err := l.Cursor("clickhouse")
	if err != nil || cur != l.End() {
		t.Fatalf("cursor %d (%v), want the log end %d", cur, err, l.End())
	}
	if st := s.Stats(); st.Batches < 5 || st.Down || st.Failures != 0 {
		t.Errorf("stats %+v", st)
	}
	if l.First() == 0 {
		t.Errorf("shipped segments not released")
	}

	// A new shipper starts at the cursor: nothing is sent again.
	s2 := NewShipper(ShipperConfig{MaxDelay: 20 * time.Millisecond}, ShipperDeps{Log: l, Client: c, Logger: zerolog.Nop()})
	stop2 := runShipper(t, s2)
	appendHits(t, l, manyHits("restart", 10))
	waitFor(t, "10 more rows", func() bool { return s2.Stats().Shipped == 10 })
	stop2()
	var raw uint64
	if err := c.conn.QueryRow(t.Context(), "SELECT count() FROM hits").Scan(&raw); err != nil || raw != 3010 {
		t.Fatalf("%d raw rows (%v), want 3010: rows were sent twice", raw, err)
	}
}

// Fat rows make smaller batches: MaxBatchBytes ends a batch before
// MaxBatch, so a batch's memory stays bounded whatever its rows.
func TestShipperBatchBytesCap(t *testing.T) {
	c := openTest(t)
	l := openLog(t, wal.Options{Dir: t.TempDir()})
	hits := manyHits("fat", 200)
	for i := range hits {
		hits[i].Query = strings.Repeat("q", 4000)
	}
	appendHits(t, l, hits)
	s := NewShipper(ShipperConfig{MaxBatch: 1000, MaxBatchBytes: 40 << 10, MaxDelay: time.Hour},
		ShipperDeps{Log: l, Client: c, Logger: zerolog.Nop()})
	runShipper(t, s)
	waitFor(t, "200 fat rows shipped in batches full by bytes", func() bool { return s.Stats().Shipped == 200 })
	// 200 rows of ~4 KB in batches of 40 KB: about 10 rows each.
	if st := s.Stats(); st.Batches < 15 || st.Batches > 25 {
		t.Fatalf("%d batches for 200 rows of 4 KB with a 40 KB cap, want about 20", st.Batches)
	}
	if n := countFinal(t, c); n != 200 {
		t.Fatalf("%d rows, want 200", n)
	}
}

// Rows still waiting for their batch when Run's context ends are flushed.
func TestShipperFlushesOnStop(t *testing.T) {
	c := openTest(t)
	l := openLog(t, wal.Options{Dir: t.TempDir()})
	s := NewShipper(ShipperConfig{MaxDelay: time.Hour}, ShipperDeps{Log: l, Client: c, Logger: zerolog.Nop()})
	stop := runShipper(t, s)
	appendHits(t, l, manyHits("f", 42))
	time.Sleep(50 * time.Millisecond) // let the shipper read them into its batch
	stop()
	if n := countFinal(t, c); n != 42 {
		t.Fatalf("%d rows after stop, want 42", n)
	}
	if cur, _ := l.Cursor("clickhouse"); cur != l.End() {
		t.Fatalf("cursor %d, want %d", cur, l.End())
	}
}

// proxiedClients opens two clients of the test database: one direct, one
// through a loopback proxy the test can cut (ClickHouse unreachable).
func proxiedClients(t *testing.T) (direct, viaProxy *Client, px *testenv.Proxy) {
	t.Helper()
	dsn, _ := testDSN(t)
	direct, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { direct.Close() })
	u, _ := url.Parse(dsn)
	px = testenv.NewProxy(t, u.Host)
	u.Host = px.Addr()
	viaProxy, err = Open(t.Context(), u.String()+"?dial_timeout=1s")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { viaProxy.Close() })
	return direct, viaProxy, px
}

// While ClickHouse is unreachable the shipper reports Down and retries the
// same batch; when it is back every row arrives, exactly once.
func TestShipperOutage(t *testing.T) {
	direct, viaProxy, px := proxiedClients(t)

	l := openLog(t, wal.Options{Dir: t.TempDir()})
	s := NewShipper(ShipperConfig{MaxBatch: 150, MaxDelay: 10 * time.Millisecond},
		ShipperDeps{Log: l, Client: viaProxy, Logger: zerolog.New(zerolog.NewTestWriter(t)), Backoff: fastBackoff})
	stop := runShipper(t, s)
	appendHits(t, l, manyHits("up", 100))
	waitFor(t, "first rows", func() bool { return s.Stats().Shipped == 100 })

	px.Cut()
	appendHits(t, l, manyHits("down", 400))
	waitFor(t, "down reported", func() bool { st := s.Stats(); return st.Down && st.Failures >= 3 })
	if st := s.Stats(); st.Shipped != 100 || st.Lag == 0 || st.LastError == "" {
		t.Fatalf("during outage: %+v", st)
	}
	px.Restore()
	waitFor(t, "every row", func() bool { st := s.Stats(); return st.Shipped == 500 && st.Lag == 0 })
	stop()

	if st := s.Stats(); st.Down {
		t.Errorf("still down: %+v", st)
	}
	if n := countFinal(t, direct); n != 500 {
		t.Fatalf("%d rows in the reports, want 500", n)
	}
	if n := countDistinct(t, direct); n != 500 {
		t.Fatalf("%d distinct hits, want 500", n)
	}
	var raw uint64
	if err := direct.conn.QueryRow(t.Context(), "SELECT count() FROM hits").Scan(&raw); err != nil {
		t.Fatal(err)
	}
	t.Logf("raw rows %d (more than 500 only if an insert's outcome was lost)", raw)
}

// flaky fails its first n inserts.
type flaky struct {
	Inserter
	n int
}

func (f *flaky) newInsert(ctx context.Context) (driver.Batch, error) {
	if f.n > 0 {
		f.n--
		return nil, errors.New("connection refused")
	}
	return f.Inserter.newInsert(ctx)
}

// ImportAll twice ships everything twice and counts it once.
func TestImportAllTwice(t *testing.T) {
	c := openTest(t)
	l := openLog(t, wal.Options{Dir: t.TempDir()})
	appendHits(t, l, append(fixture(), manyHits("imp", 1234)...))
	for i := range 2 {
		st, err := ImportAll(t.Context(), ShipperDeps{Log: l, Client: &flaky{Inserter: c, n: 1}, Logger: zerolog.Nop(), Backoff: fastBackoff}, 500)
		if err != nil {
			t.Fatalf("import %d: %v", i+1, err)
		}
		if st.Shipped != 1246 || st.Failures != 1 {
			t.Fatalf("import %d: %+v", i+1, st)
		}
	}
	if n := countFinal(t, c); n != 1246 {
		t.Fatalf("%d rows after two imports, want 1246", n)
	}
	checkReports(t, c)
	if _, err := l.Cursor("clickhouse"); !errors.Is(err, wal.ErrNoCursor) {
		t.Errorf("import saved a cursor: %v", err)
	}

	t.Run("gives up", func(t *testing.T) {
		_, err := ImportAll(t.Context(), ShipperDeps{Log: l, Client: &flaky{Inserter: c, n: 100}, Logger: zerolog.Nop(), Backoff: fastBackoff}, 500)
		if err == nil {
			t.Fatal("import succeeded against a failing server")
		}
	})
}

// A record that does not decode and a damaged frame are skipped, counted,
// and everything else is shipped.
func TestShipperSkipsCorruptRecords(t *testing.T) {
	// With failed inserts, the batch is read again from the log: the bad
	// record and the damage are still counted once.
	for _, fails := range []int{0, 2} {
		t.Run(fmt.Sprintf("failed inserts %d", fails), func(t *testing.T) {
			c := openTest(t)
			dir := t.TempDir()
			opts := wal.Options{Dir: dir, SegmentBytes: 4 << 10}
			l, err := wal.Open(opts)
			if err != nil {
				t.Fatal(err)
			}
			hits := manyHits("c", 100)
			var victim wal.Pos
			for i := range hits {
				if i == 20 {
					victim = l.End()
				}
				appendHits(t, l, hits[i:i+1])
				if i == 50 {
					if _, err := l.Append([]byte{0xff, 1, 2, 3}); err != nil { // not a hit
						t.Fatal(err)
					}
				}
			}
			l.Close()
			seg, off := segmentOf(t, dir, victim)
			flipByte(t, seg, off+9+20) // a payload byte of hit 20, in an older segment
			l = openLog(t, opts)

			s := NewShipper(ShipperConfig{MaxDelay: 10 * time.Millisecond},
				ShipperDeps{Log: l, Client: &flaky{Inserter: c, n: fails}, Logger: zerolog.Nop(), Backoff: fastBackoff})
			stop := runShipper(t, s)
			waitFor(t, "the log shipped", func() bool { return s.Stats().Lag == 0 })
			stop()
			st := s.Stats()
			if st.Shipped != 99 || st.BadRecords != 1 || st.Corrupt != 1 || st.Failures != uint64(fails) {
				t.Fatalf("stats %+v, want 99 shipped, 1 bad record, 1 corrupt region, %d failures", st, fails)
			}
			if n := countFinal(t, c); n != 99 {
				t.Fatalf("%d rows, want 99", n)
			}
		})
	}
}

// segmentOf returns the segment file holding pos and pos's offset in it.
func segmentOf(t testing.TB, dir string, pos wal.Pos) (string, int64) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
	for i := len(files) - 1; i >= 0; i-- {
		base, err := strconv.ParseUint(filepath.Base(files[i])[:20], 10, 64)
		if err == nil && wal.Pos(base) <= pos {
			if i == len(files)-1 {
				t.Fatalf("victim %d is in the last segment: Open would cut it", pos)
			}
			return files[i], 32 + int64(pos-wal.Pos(base)) // segment header: 32 bytes
		}
	}
	t.Fatalf("no segment holds %d", pos)
	return "", 0
}

func flipByte(t testing.TB, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := []byte{0}
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x40
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// The defaults make few, large inserts (issue 14: 50k rows or 5 s).
func TestShipperDefaults(t *testing.T) {
	s := NewShipper(ShipperConfig{}, ShipperDeps{Log: openLog(t, wal.Options{Dir: t.TempDir()}), Logger: zerolog.Nop()})
	if s.cfg.MaxBatch != 50000 || s.cfg.MaxDelay != 5*time.Second {
		t.Fatalf("defaults: %d rows, %s; want 50000 rows, 5s", s.cfg.MaxBatch, s.cfg.MaxDelay)
	}
}

// WaitShipped does not wait for MaxDelay: the batch goes at once (an
// erasure waits for the rows decided before it).
func TestWaitShippedSendsTheBatchNow(t *testing.T) {
	c := openTest(t)
	l := openLog(t, wal.Options{Dir: t.TempDir()})
	s := NewShipper(ShipperConfig{MaxDelay: time.Hour}, ShipperDeps{Log: l, Client: c, Logger: zerolog.Nop()})
	runShipper(t, s)
	for i := range 3 {
		appendHits(t, l, manyHits(fmt.Sprintf("now%d", i), 10))
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		err := s.WaitShipped(ctx, l.End())
		cancel()
		if err != nil {
			t.Fatalf("round %d: rows not shipped within 30s of WaitShipped, with a MaxDelay of an hour: %v", i+1, err)
		}
		if n := countFinal(t, c); n != uint64(10*(i+1)) {
			t.Fatalf("round %d: %d rows, want %d", i+1, n, 10*(i+1))
		}
	}
}

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// While ClickHouse refuses inserts, the rows wait in the log, not in
// memory: the shipper holds at most a chunk of them, however large
// MaxBatch is. When ClickHouse is back every row arrives, once.
func TestShipperHoldsNoBatchWhileDown(t *testing.T) {
	const n = 50000
	direct, viaProxy, px := proxiedClients(t)

	l := openLog(t, wal.Options{Dir: t.TempDir(), NoSync: true})
	appendHits(t, l, manyHits("down", n))
	px.Cut()
	s := NewShipper(ShipperConfig{MaxBatch: n, MaxDelay: 10 * time.Millisecond},
		ShipperDeps{Log: l, Client: viaProxy, Logger: zerolog.Nop(), Backoff: fastBackoff})
	before := heapInUse()
	stop := runShipper(t, s)
	waitFor(t, "three failed inserts", func() bool { return s.Stats().Failures >= 3 })
	held := int64(heapInUse()) - int64(before)
	t.Logf("heap held while ClickHouse is down, with %d rows to ship: %d KB", n, held>>10)
	// A chunk is ~1 MB; a batch of 50000 rows ~40 MB.
	if held > 8<<20 {
		t.Errorf("the shipper holds %d MB while ClickHouse is down: the rows should wait in the log", held>>20)
	}
	px.Restore()
	waitFor(t, "every row", func() bool { st := s.Stats(); return st.Shipped == n && st.Lag == 0 })
	stop()
	if got := countFinal(t, direct); got != n {
		t.Fatalf("%d rows, want %d", got, n)
	}
}

// A batch being filled is held once, in the driver's column buffers.
func TestShipperBatchMemoryPerRow(t *testing.T) {
	const n = 20000
	c := openTest(t)
	l := openLog(t, wal.Options{Dir: t.TempDir(), NoSync: true})
	appendHits(t, l, manyHits("mem", n))
	s := NewShipper(ShipperConfig{MaxBatch: 50000, MaxDelay: time.Hour}, ShipperDeps{Log: l, Client: c, Logger: zerolog.Nop()})
	before := heapInUse()
	stop := runShipper(t, s)
	// The whole log is read when the heap stops growing (the shipper then
	// waits for its delay).
	var held, last int64
	waitFor(t, "the batch read", func() bool {
		time.Sleep(200 * time.Millisecond)
		last, held = held, int64(heapInUse())-int64(before)
		return held > n*100 && held-last < 64<<10 && last-held < 64<<10
	})
	if st := s.Stats(); st.Shipped != 0 {
		t.Fatalf("shipped before its delay: %+v", st)
	}
	perRow := held / n
	t.Logf("%d rows held: %d KB, %d bytes a row", n, held>>10, perRow)
	if perRow > 1500 {
		t.Errorf("%d bytes held per row of the batch, want at most 1500", perRow)
	}
	stop()
	if got := countFinal(t, c); got != n {
		t.Fatalf("%d rows shipped at stop, want %d", got, n)
	}
}
