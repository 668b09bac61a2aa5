package wal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func openLog(t testing.TB, opts Options) *Log {
	t.Helper()
	l, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// record returns a deterministic record of size n (at least its tag).
func record(tag string, n int) []byte {
	b := []byte(tag)
	for len(b) < n {
		b = append(b, byte('a'+len(b)%26))
	}
	return b
}

type readRec struct {
	rec  []byte
	pos  Pos // position of the record
	next Pos // position after it
}

// readAll reads from pos to the durable end; it returns the records and the
// error that stopped it (nil for io.EOF).
func readAll(t testing.TB, l *Log, from Pos) ([]readRec, error) {
	t.Helper()
	r := l.NewReader(from)
	defer r.Close()
	var out []readRec
	for {
		at := r.Pos()
		rec, next, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, readRec{bytes.Clone(rec), at, next})
	}
}

func mustReadAll(t testing.TB, l *Log, from Pos) []readRec {
	t.Helper()
	recs, err := readAll(t, l, from)
	if err != nil {
		t.Fatalf("read after %d records: %v", len(recs), err)
	}
	return recs
}

func TestRoundTripAcrossSegments(t *testing.T) {
	tests := []struct {
		name         string
		segmentBytes int64
		sizes        []int // record sizes, cycled
		perAppend    int   // records per Append call
		n            int
		minSegments  uint64
	}{
		{"tiny segments, hits", 1 << 10, []int{300}, 1, 200, 50},
		{"tiny segments, records larger than a segment", 1 << 10, []int{0, 1, 5000, 300}, 1, 40, 10},
		{"multi-record appends straddling segments", 4 << 10, []int{300, 17, 1000}, 7, 350, 20},
		{"default segments", 0, []int{300, 0, 1 << 16}, 3, 300, 1},
		{"max size records", 4 << 20, []int{MaxRecordSize}, 2, 10, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := openLog(t, Options{Dir: t.TempDir(), SegmentBytes: tt.segmentBytes})
			var want [][]byte
			var ends []Pos
			for i := 0; i < tt.n; i += tt.perAppend {
				var recs [][]byte
				for j := i; j < i+tt.perAppend && j < tt.n; j++ {
					recs = append(recs, record(fmt.Sprintf("r%d.", j), tt.sizes[j%len(tt.sizes)]))
				}
				end, err := l.Append(recs...)
				if err != nil {
					t.Fatalf("Append %d: %v", i, err)
				}
				want = append(want, recs...)
				ends = append(ends, end)
			}
			got := mustReadAll(t, l, 0)
			if len(got) != len(want) {
				t.Fatalf("read %d records, want %d", len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i].rec, want[i]) {
					t.Fatalf("record %d differs", i)
				}
				if i > 0 && got[i].pos != got[i-1].next {
					t.Fatalf("record %d at %d, previous ended at %d", i, got[i].pos, got[i-1].next)
				}
			}
			// The position Append returned is the end of its last record.
			k := 0
			for i := 0; i < tt.n; i += tt.perAppend {
				last := min(i+tt.perAppend, tt.n) - 1
				if got[last].next != ends[k] {
					t.Fatalf("append %d returned %d, its last record ends at %d", k, ends[k], got[last].next)
				}
				k++
			}
			if l.End() != ends[len(ends)-1] {
				t.Fatalf("End() = %d, want %d", l.End(), ends[len(ends)-1])
			}
			st := l.Stats()
			if st.Segments < tt.minSegments {
				t.Errorf("%d segments, want at least %d", st.Segments, tt.minSegments)
			}
			if st.Records != uint64(tt.n) || st.Appends != uint64(k) {
				t.Errorf("stats %+v, want %d records in %d appends", st, tt.n, k)
			}
			// Every file is named by its first position and within size,
			// unless it holds one oversized record.
			files, _ := filepath.Glob(filepath.Join(l.opts.Dir, "*.wal"))
			if uint64(len(files)) != st.Segments {
				t.Errorf("%d files, stats say %d segments", len(files), st.Segments)
			}
			var total int64
			for _, f := range files {
				fi, _ := os.Stat(f)
				total += fi.Size()
			}
			// The active segment may hold zeroed space ahead of its data.
			if uint64(total) < st.Bytes || uint64(total) > st.Bytes+preallocChunk {
				t.Errorf("files hold %d bytes, stats say %d", total, st.Bytes)
			}
			// Reading from any record's position starts at that record.
			for _, i := range []int{0, len(got) / 3, len(got) - 1} {
				from := mustReadAll(t, l, got[i].pos)
				if len(from) != len(got)-i || !bytes.Equal(from[0].rec, got[i].rec) {
					t.Fatalf("reading from record %d: got %d records", i, len(from))
				}
			}
		})
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, SegmentBytes: 2 << 10}
	var want [][]byte
	var end Pos
	for round := range 3 {
		l, err := Open(opts)
		if err != nil {
			t.Fatal(err)
		}
		if l.End() != end {
			t.Fatalf("round %d: End() = %d after reopen, want %d", round, l.End(), end)
		}
		if ri := l.Recovery(); ri.Cut || ri.Corrupt || ri.End != end {
			t.Fatalf("round %d: recovery %+v after a clean close", round, ri)
		}
		for i := range 50 {
			rec := record(fmt.Sprintf("round%d-%d.", round, i), 100+i*7)
			if end, err = l.Append(rec); err != nil {
				t.Fatal(err)
			}
			want = append(want, rec)
		}
		got := mustReadAll(t, l, 0)
		if len(got) != len(want) {
			t.Fatalf("round %d: %d records, want %d", round, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i].rec, want[i]) {
				t.Fatalf("round %d: record %d differs", round, i)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCloseIdempotentAndAppendAfterClose(t *testing.T) {
	l, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append([]byte("x")); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := l.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	if _, err := l.Append([]byte("y")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v, want ErrClosed", err)
	}
	if err := l.Wait(t.Context(), l.End()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Wait after Close: %v, want ErrClosed", err)
	}
	if err := l.SaveCursor("c", 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("SaveCursor after Close: %v, want ErrClosed", err)
	}
	if err := l.Release(l.End()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Release after Close: %v, want ErrClosed", err)
	}
	// Readers still read what is stored.
	if got := mustReadAll(t, l, 0); len(got) != 1 {
		t.Fatalf("read %d records after Close, want 1", len(got))
	}
}

// Appends racing with Close either succeed, and are then stored, or fail
// with ErrClosed.
func TestCloseDuringAppends(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		rec []byte
		err error
	}
	results := make(chan result, 400)
	for g := range 8 {
		go func() {
			for i := range 50 {
				rec := []byte(fmt.Sprintf("g%d-%d", g, i))
				_, err := l.Append(rec)
				results <- result{rec, err}
			}
		}()
	}
	time.Sleep(2 * time.Millisecond)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	for range 400 {
		r := <-results
		switch {
		case r.err == nil:
			acked[string(r.rec)] = true
		case !errors.Is(r.err, ErrClosed):
			t.Fatalf("Append: %v", r.err)
		}
	}
	l = openLog(t, Options{Dir: dir})
	stored := map[string]bool{}
	for _, r := range mustReadAll(t, l, 0) {
		stored[string(r.rec)] = true
	}
	for rec := range acked {
		if !stored[rec] {
			t.Errorf("acknowledged record %s lost", rec)
		}
	}
}

func TestRecordTooLarge(t *testing.T) {
	l := openLog(t, Options{Dir: t.TempDir()})
	tests := []struct {
		name string
		recs [][]byte
		err  error
	}{
		{"max size", [][]byte{make([]byte, MaxRecordSize)}, nil},
		{"one byte over", [][]byte{make([]byte, MaxRecordSize+1)}, ErrTooLarge},
		{"one bad among good", [][]byte{[]byte("ok"), make([]byte, MaxRecordSize+1)}, ErrTooLarge},
		{"call over 4 MiB", [][]byte{make([]byte, MaxRecordSize), make([]byte, MaxRecordSize), make([]byte, MaxRecordSize), make([]byte, MaxRecordSize)}, ErrTooLarge},
		{"empty record", [][]byte{{}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := l.End()
			_, err := l.Append(tt.recs...)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Append: %v, want %v", err, tt.err)
			}
			if err != nil && l.End() != before {
				t.Fatalf("a refused Append moved the end")
			}
		})
	}
	if end, err := l.Append(); err != nil || end != l.End() {
		t.Fatalf("empty Append = %d, %v; want End() %d", end, err, l.End())
	}
}

func TestOptionsValidation(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		errs []string // every one must be reported
	}{
		{"no dir", Options{}, []string{"dir is required"}},
		{"everything wrong", Options{SegmentBytes: 10, MaxBytes: -1, SyncInterval: time.Second},
			[]string{"dir is required", "segment size", "max bytes", "sync interval"}},
		{"negative interval", Options{Dir: "x", SyncInterval: -1}, []string{"sync interval"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(tt.opts)
			if err == nil {
				t.Fatal("Open accepted invalid options")
			}
			for _, e := range tt.errs {
				if !strings.Contains(err.Error(), e) {
					t.Errorf("error %q does not mention %q", err, e)
				}
			}
		})
	}
	o := Options{Dir: "x"}
	if err := o.setDefaults(); err != nil {
		t.Fatal(err)
	}
	if o.SegmentBytes != 64<<20 || o.MaxBytes != 4<<30 || o.SyncInterval != 2*time.Millisecond {
		t.Fatalf("defaults %+v", o)
	}
	// A small cap gets small segments: Release never frees the active one.
	small := Options{Dir: "x", MaxBytes: 1 << 20}
	if err := small.setDefaults(); err != nil || small.SegmentBytes != 64<<10 {
		t.Fatalf("segment of a 1 MiB log: %d (%v), want 64 KiB", small.SegmentBytes, err)
	}
	if _, err := Open(Options{Dir: t.TempDir(), MaxBytes: 1 << 20, SegmentBytes: 1 << 20}); err == nil ||
		!strings.Contains(err.Error(), "half of max bytes") {
		t.Fatalf("a segment as large as the cap: %v, want refused", err)
	}
}

func TestSecondOpenFails(t *testing.T) {
	dir := t.TempDir()
	openLog(t, Options{Dir: dir})
	if l, err := Open(Options{Dir: dir}); err == nil {
		l.Close()
		t.Fatal("a second Open of the same directory succeeded")
	}
}

// DeferSync: appends are written without fsync, readers see them, Sync
// and a segment rollover make them durable, and a reopened log has them.
func TestDeferSync(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(Options{Dir: dir, DeferSync: true, SegmentBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := l.Append(record(fmt.Sprint("r", i), 100)); err != nil {
			t.Fatal(err)
		}
	}
	if got := l.Stats().Fsyncs; got != 0 {
		t.Errorf("fsyncs after 5 deferred appends = %d, want 0", got)
	}
	if recs, err := readAll(t, l, 0); err != nil || len(recs) != 5 {
		t.Errorf("reader sees %d records before Sync (%v), want 5", len(recs), err)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := l.Stats().Fsyncs; got != 1 {
		t.Errorf("fsyncs after Sync = %d, want 1", got)
	}
	// 60 more records of ~100 bytes cross the 4 KiB segments: each sealed
	// segment is synced before the next one starts.
	for i := range 60 {
		if _, err := l.Append(record(fmt.Sprint("s", i), 100)); err != nil {
			t.Fatal(err)
		}
	}
	st := l.Stats()
	if st.Segments < 2 || st.Fsyncs < 1+st.Segments-1 {
		t.Errorf("after rollovers: %d segments, %d fsyncs; want a sync per sealed segment", st.Segments, st.Fsyncs)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(); !errors.Is(err, ErrClosed) {
		t.Errorf("Sync after Close = %v, want ErrClosed", err)
	}
	l2 := openLog(t, Options{Dir: dir, DeferSync: true, SegmentBytes: 4096})
	if recs, err := readAll(t, l2, 0); err != nil || len(recs) != 65 {
		t.Errorf("reopened log has %d records (%v), want 65", len(recs), err)
	}
}

// The active segment is zeroed ahead of its data (appends then overwrite
// allocated blocks). A crash leaves those zeros: recovery keeps every
// record and cuts them; Close and a rollover trim them.
func TestPreallocatedSpaceAfterCrash(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, Options{Dir: dir})
	for i := range 10 {
		if _, err := l.Append(record(fmt.Sprint("r", i), 200)); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
	if len(files) != 1 {
		t.Fatalf("%d segment files, want 1", len(files))
	}
	data := l.Stats().Bytes
	fi, _ := os.Stat(files[0])
	if fi.Size() <= int64(data) {
		t.Fatalf("segment file %d bytes for %d of data: not preallocated", fi.Size(), data)
	}
	// The files as a crash leaves them.
	crashed := t.TempDir()
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(crashed, filepath.Base(files[0])), b, 0o644); err != nil {
		t.Fatal(err)
	}
	l2 := openLog(t, Options{Dir: crashed})
	if r := l2.Recovery(); !r.Cut || r.Corrupt || r.BytesCut != fi.Size()-int64(data) {
		t.Errorf("recovery %+v, want the %d zeroed bytes cut", r, fi.Size()-int64(data))
	}
	if recs, err := readAll(t, l2, 0); err != nil || len(recs) != 10 {
		t.Errorf("%d records after the crash (%v), want 10", len(recs), err)
	}
	if _, err := l2.Append(record("after", 200)); err != nil {
		t.Fatal(err)
	}
	if recs, err := readAll(t, l2, 0); err != nil || len(recs) != 11 {
		t.Errorf("%d records after one more append (%v), want 11", len(recs), err)
	}
	// A clean Close trims the file to its data.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(files[0]); fi.Size() != int64(data) {
		t.Errorf("after Close the segment holds %d bytes, want its %d of data", fi.Size(), data)
	}
}
