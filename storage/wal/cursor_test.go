package wal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCursorsPersistAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Cursor("clickhouse"); !errors.Is(err, ErrNoCursor) {
		t.Fatalf("Cursor before any save: %v, want ErrNoCursor", err)
	}
	var ends []Pos
	for i := range 5 {
		end, err := l.Append(fmt.Appendf(nil, "hit %d", i))
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, end)
	}
	for name, pos := range map[string]Pos{"clickhouse": ends[2], "ledger-replay": ends[4], "x": 0} {
		if err := l.SaveCursor(name, pos); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.SaveCursor("clickhouse", ends[3]); err != nil { // overwrite
		t.Fatal(err)
	}
	if err := l.SaveCursor("x", l.End()+1); err == nil {
		t.Fatal("SaveCursor accepted a position beyond the end")
	}
	for _, bad := range []string{"", "../escape", "a b", "dot.name", strings.Repeat("n", 65)} {
		if err := l.SaveCursor(bad, 0); err == nil {
			t.Errorf("SaveCursor accepted name %q", bad)
		}
	}
	l.Close()

	l = openLog(t, Options{Dir: dir})
	for name, want := range map[string]Pos{"clickhouse": ends[3], "ledger-replay": ends[4], "x": 0} {
		got, err := l.Cursor(name)
		if err != nil || got != want {
			t.Errorf("Cursor(%q) = %d, %v; want %d", name, got, err, want)
		}
	}
	// Reading from a cursor goes on after the records it covers.
	pos, _ := l.Cursor("clickhouse")
	if got := mustReadAll(t, l, pos); len(got) != 1 || string(got[0].rec) != "hit 4" {
		t.Fatalf("read from cursor: %v", got)
	}
	// A damaged cursor file is reported, not read as 0.
	flipByte(t, filepath.Join(dir, "x"+cursorSuffix), 14)
	if _, err := l.Cursor("x"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged cursor: %v, want ErrCorrupt", err)
	}
}

func TestReleaseDeletesOnlyShippedSegments(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, Options{Dir: dir, SegmentBytes: 4 << 10}) // 13 records of 300 bytes per segment
	var ends []Pos
	for i := range 60 {
		end, err := l.Append(record(fmt.Sprintf("r%d.", i), 300))
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, end)
	}
	recs := mustReadAll(t, l, 0)
	segs := func() []string {
		m, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
		for i := range m {
			m[i] = filepath.Base(m[i])
		}
		return m
	}
	all := segs()
	if len(all) != 5 {
		t.Fatalf("%d segments, want 5", len(all))
	}
	second, _ := parseSegName(all[1])
	third, _ := parseSegName(all[2])

	tests := []struct {
		name  string
		upTo  Pos
		first Pos // First() after
		left  int // segments left
	}{
		{"nothing shipped", 0, 0, 5},
		{"first segment shipped but its last record", second - 1, 0, 5},
		{"first segment wholly shipped", second, second, 4},
		{"half of the second", second + (third-second)/2, second, 4},
		{"everything: the active segment stays", l.End() + 1000, recs[52].pos, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := l.Release(tt.upTo); err != nil {
				t.Fatal(err)
			}
			if got := segs(); len(got) != tt.left {
				t.Fatalf("segments %v, want %d", got, tt.left)
			}
			if l.First() != tt.first {
				t.Fatalf("First() = %d, want %d", l.First(), tt.first)
			}
			if st := l.Stats(); st.Segments != uint64(tt.left) {
				t.Fatalf("stats say %d segments", st.Segments)
			}
			// What is left is readable from First, to the end.
			got := mustReadAll(t, l, l.First())
			if got[len(got)-1].next != ends[len(ends)-1] {
				t.Fatalf("read ends at %d, want %d", got[len(got)-1].next, ends[len(ends)-1])
			}
		})
	}
	if _, err := readAll(t, l, 0); !errors.Is(err, ErrReleased) {
		t.Fatalf("reading a released position: %v, want ErrReleased", err)
	}
	// Positions survive: reopen and go on.
	l.Close()
	l = openLog(t, Options{Dir: dir, SegmentBytes: 4 << 10})
	if l.First() != recs[52].pos || l.End() != ends[59] {
		t.Fatalf("after reopen First %d End %d", l.First(), l.End())
	}
}

func TestMaxBytesThenReleaseFreesSpace(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, SegmentBytes: 4 << 10, MaxBytes: 20 << 10}
	l := openLog(t, opts)
	var last Pos
	n := 0
	for {
		end, err := l.Append(record(fmt.Sprintf("r%d.", n), 300))
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		last = end
		if n++; n > 1000 {
			t.Fatal("MaxBytes never reached")
		}
	}
	st := l.Stats()
	if !st.Full || st.Bytes > uint64(opts.MaxBytes) {
		t.Fatalf("after ErrFull: stats %+v, cap %d", st, opts.MaxBytes)
	}
	if l.End() != last {
		t.Fatalf("a refused append moved the end")
	}
	// Still full after a reopen: the cap counts what is on disk.
	l.Close()
	l = openLog(t, opts)
	if _, err := l.Append(record("x", 300)); !errors.Is(err, ErrFull) {
		t.Fatalf("Append after reopen: %v, want ErrFull", err)
	}
	// Ship everything, release: room again.
	if err := l.SaveCursor("shipper", l.End()); err != nil {
		t.Fatal(err)
	}
	pos, _ := l.Cursor("shipper")
	if err := l.Release(pos); err != nil {
		t.Fatal(err)
	}
	if l.Stats().Full {
		t.Fatal("still Full after Release freed space")
	}
	for i := range 20 {
		if _, err := l.Append(record(fmt.Sprintf("again%d.", i), 300)); err != nil {
			t.Fatalf("Append %d after Release: %v", i, err)
		}
	}
	if st := l.Stats(); st.Full || st.Bytes > uint64(opts.MaxBytes) {
		t.Fatalf("stats %+v", st)
	}
	var total int64
	m, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
	for _, f := range m {
		fi, _ := os.Stat(f)
		total += fi.Size()
	}
	if total > opts.MaxBytes {
		t.Fatalf("%d bytes on disk, cap %d", total, opts.MaxBytes)
	}
}
