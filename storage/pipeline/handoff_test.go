package pipeline

import (
	"io"
	"strings"
	"testing"

	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/wal"
)

// The positions a batch gives its rows are those a reader of the log
// finds, also for appends that start a new segment.
func TestRowBatchPositionsAreTheLogs(t *testing.T) {
	l, err := wal.Open(wal.Options{Dir: t.TempDir(), SegmentBytes: 1 << 10, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	h := newHandoff(1 << 20)
	h.start(l.End())
	var want []wal.Pos
	for i := range 40 {
		recs := make([][]byte, 1+i%5)
		b := h.batch()
		for j := range recs {
			recs[j] = []byte(strings.Repeat("x", 10+37*((i+j)%7)))
			b.Rows = append(b.Rows, storage.Hit{ID: "h"})
		}
		end, err := l.Append(recs...)
		if err != nil {
			t.Fatal(err)
		}
		b.setPositions(end, recs)
		if len(want) > 0 && b.Start != want[len(want)-1] {
			t.Fatalf("batch %d starts at %d, the previous ended at %d", i, b.Start, want[len(want)-1])
		}
		want = append(want, b.Ends...)
		h.offer(b)
	}
	r := l.NewReader(l.First())
	defer r.Close()
	for i := 0; ; i++ {
		_, next, err := r.Next()
		if err == io.EOF {
			if i != len(want) {
				t.Fatalf("read %d records, batches had %d", i, len(want))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if next != want[i] {
			t.Fatalf("record %d ends at %d, its batch said %d", i, next, want[i])
		}
	}
	if l.Stats().Segments < 3 {
		t.Fatalf("the appends crossed no segment: %+v", l.Stats())
	}
}

// The handoff never blocks the applier: a full queue drops the offer, and
// a reader then learns to read the log until it reaches a queued batch.
func TestHandoffDropsWhenFullAndSaysWhereToRead(t *testing.T) {
	h := newHandoff(4)
	if st := h.State(0); st != FromLog {
		t.Fatalf("before the applier started: %v, want FromLog", st)
	}
	h.start(100)
	if st := h.State(50); st != FromLog {
		t.Fatalf("before the applier's start: %v, want FromLog", st)
	}
	if st := h.State(100); st != Coming {
		t.Fatalf("at the applier's start: %v, want Coming", st)
	}
	offer := func(start wal.Pos, n int) {
		b := h.batch()
		b.Start = start
		for i := range n {
			b.Rows = append(b.Rows, storage.Hit{ID: "h"})
			b.Ends = append(b.Ends, start+wal.Pos(10*(i+1)))
		}
		h.offer(b)
	}
	offer(100, 3) // 100..130
	offer(130, 3) // dropped: 6 rows > 4
	offer(160, 1) // 160..170
	if h.Dropped() != 3 {
		t.Fatalf("dropped %d rows, want 3", h.Dropped())
	}
	if b := h.Take(100); b == nil || b.End() != 130 {
		t.Fatalf("take at 100: %+v", b)
	}
	if st := h.State(130); st != FromLog {
		t.Fatalf("at the dropped batch: %v, want FromLog", st)
	}
	if b := h.Take(160); b == nil || b.End() != 170 {
		t.Fatalf("take at 160 after reading the log: %+v", b)
	}
	if st := h.State(170); st != Coming {
		t.Fatalf("caught up: %v, want Coming", st)
	}
	offer(170, 1)
	h.invalidate()
	if st := h.State(170); st != FromLog {
		t.Fatalf("after an erasure: %v, want FromLog", st)
	}
	stale := h.batch()
	h.invalidate()
	stale.Start = 180
	stale.Rows, stale.Ends = append(stale.Rows, storage.Hit{}), append(stale.Ends, 190)
	h.offer(stale)
	if b := h.Take(180); b != nil {
		t.Fatal("a batch built before an erasure was queued")
	}
}
