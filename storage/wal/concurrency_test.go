package wal

import (
	"fmt"
	"sync"
	"testing"
)

// Many appenders: every record is stored exactly once, each appender's
// records in its own order, at the position its Append returned, and one
// fsync acknowledges many Appends.
func TestConcurrentAppendsGroupCommit(t *testing.T) {
	goroutines, perG := 64, 1000
	if testing.Short() {
		perG = 100
	}
	l := openLog(t, Options{Dir: t.TempDir(), SegmentBytes: 1 << 20})
	ends := make([][]Pos, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			ends[g] = make([]Pos, perG)
			for i := range perG {
				end, err := l.Append(record(fmt.Sprintf("g%02d-%06d.", g, i), 300))
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				ends[g][i] = end
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	got := mustReadAll(t, l, 0)
	if len(got) != goroutines*perG {
		t.Fatalf("read %d records, want %d", len(got), goroutines*perG)
	}
	next := make([]int, goroutines) // next expected sequence per goroutine
	for _, r := range got {
		var g, i int
		if _, err := fmt.Sscanf(string(r.rec[:11]), "g%02d-%06d", &g, &i); err != nil {
			t.Fatalf("unexpected record %q", r.rec[:20])
		}
		if i != next[g] {
			t.Fatalf("goroutine %d: record %d read where %d was expected", g, i, next[g])
		}
		if ends[g][i] != r.next {
			t.Fatalf("goroutine %d record %d: Append returned %d, reader says %d", g, i, ends[g][i], r.next)
		}
		next[g]++
	}
	st := l.Stats()
	t.Logf("%d appends, %d fsyncs, %.1f appends per fsync, %d segments", st.Appends, st.Fsyncs, float64(st.Appends)/float64(st.Fsyncs), st.Segments)
	if st.Appends != uint64(goroutines*perG) {
		t.Fatalf("stats count %d appends, want %d", st.Appends, goroutines*perG)
	}
	if st.Fsyncs == 0 || st.Fsyncs > st.Appends/4 {
		t.Fatalf("%d fsyncs for %d appends: group commit is not sharing fsyncs", st.Fsyncs, st.Appends)
	}
}

// A lone appender on an idle log never lingers: each of its records is
// synced as soon as it arrives.
func TestIdleAppendDoesNotLinger(t *testing.T) {
	l := openLog(t, Options{Dir: t.TempDir(), SyncInterval: maxSyncInterval})
	// A burst first, so that the previous commit was large.
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 20 {
				if _, err := l.Append(fmt.Appendf(nil, "%d-%d", g, i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	before := l.lingers.Load()
	for i := range 100 {
		if _, err := l.Append(fmt.Appendf(nil, "lone-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := l.lingers.Load() - before; n != 0 {
		t.Fatalf("the flusher lingered %d times for a lone appender", n)
	}
	if st := l.Stats(); st.Fsyncs < 100 {
		t.Fatalf("%d fsyncs, want one per lone append at least", st.Fsyncs)
	}
}
