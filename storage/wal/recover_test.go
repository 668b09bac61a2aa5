package wal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// fill creates a log in dir with n records of size bytes, closes it, and
// returns the records as read back.
func fill(t testing.TB, opts Options, n, size int) []readRec {
	t.Helper()
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := l.Append(record(fmt.Sprintf("rec%04d.", i), size)); err != nil {
			t.Fatal(err)
		}
	}
	recs := mustReadAll(t, l, 0)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return recs
}

func lastSegment(t testing.TB, dir string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.wal"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no segments in %s", dir)
	}
	return files[len(files)-1]
}

// segmentOf returns the file and offset holding the frame at pos.
func segmentOf(t testing.TB, dir string, pos Pos) (string, int64) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
	for i := len(files) - 1; i >= 0; i-- {
		base, _ := parseSegName(filepath.Base(files[i]))
		if base <= pos {
			return files[i], segHeaderSize + int64(pos-base)
		}
	}
	t.Fatalf("no segment holds %d", pos)
	return "", 0
}

func appendFile(t testing.TB, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
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

func truncateBy(t testing.TB, path string, n int64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()-n); err != nil {
		t.Fatal(err)
	}
}

func TestTornTailIsCut(t *testing.T) {
	const n, size = 20, 300
	frame := int64(frameHeaderSize + size)
	tests := []struct {
		name     string
		damage   func(t *testing.T, seg string, last readRec)
		kept     int   // records left
		bytesCut int64 // bytes cut from the file
	}{
		{"cut inside the last frame header", func(t *testing.T, seg string, _ readRec) { truncateBy(t, seg, frame-4) }, n - 1, 4},
		{"cut inside the last payload", func(t *testing.T, seg string, _ readRec) { truncateBy(t, seg, 100) }, n - 1, frame - 100},
		{"garbage appended", func(t *testing.T, seg string, _ readRec) {
			appendFile(t, seg, bytes.Repeat([]byte("garbage!"), 125))
		}, n, 1000},
		{"lone partial frame header", func(t *testing.T, seg string, _ readRec) { appendFile(t, seg, []byte{1, 2, 3, 4, 5}) }, n, 5},
		{"zeros of preallocated space, beyond the torn window", func(t *testing.T, seg string, _ readRec) {
			appendFile(t, seg, make([]byte, maxBatchBytes+4096))
		}, n, maxBatchBytes + 4096},
		{"flipped byte in the last payload", func(t *testing.T, seg string, _ readRec) {
			fi, _ := os.Stat(seg)
			flipByte(t, seg, fi.Size()-7)
		}, n - 1, frame},
		{"flipped byte in the last length", func(t *testing.T, seg string, _ readRec) {
			fi, _ := os.Stat(seg)
			flipByte(t, seg, fi.Size()-frame+5)
		}, n - 1, frame},
		{"intact frame after garbage is not trusted", func(t *testing.T, seg string, _ readRec) {
			appendFile(t, seg, append([]byte("junk"), appendFrame(nil, []byte("never acknowledged"))...))
		}, n, 4 + frameHeaderSize + 18},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{Dir: dir}
			recs := fill(t, opts, n, size)
			seg := lastSegment(t, dir)
			tt.damage(t, seg, recs[n-1])

			l := openLog(t, opts)
			ri := l.Recovery()
			if !ri.Cut || ri.Corrupt || ri.BytesCut != tt.bytesCut || ri.Records != uint64(tt.kept) {
				t.Fatalf("recovery %+v, want cut of %d bytes keeping %d records", ri, tt.bytesCut, tt.kept)
			}
			if ri.CutPos != recs[tt.kept-1].next || l.End() != ri.CutPos {
				t.Fatalf("cut at %d, End() %d; want both at %d", ri.CutPos, l.End(), recs[tt.kept-1].next)
			}
			got := mustReadAll(t, l, 0)
			if len(got) != tt.kept {
				t.Fatalf("%d records after recovery, want %d", len(got), tt.kept)
			}
			for i := range got {
				if !bytes.Equal(got[i].rec, recs[i].rec) {
					t.Fatalf("record %d differs", i)
				}
			}
			// New appends after recovery are readable, also after a reopen.
			end, err := l.Append([]byte("after recovery"))
			if err != nil {
				t.Fatal(err)
			}
			l.Close()
			l = openLog(t, opts)
			if ri := l.Recovery(); ri.Cut || ri.Corrupt {
				t.Fatalf("second recovery %+v, want clean", ri)
			}
			got = mustReadAll(t, l, 0)
			if len(got) != tt.kept+1 || string(got[tt.kept].rec) != "after recovery" || got[tt.kept].next != end {
				t.Fatalf("after reopen: %d records, last %q", len(got), got[len(got)-1].rec)
			}
		})
	}
}

// Damage too far from the end to be a torn write is kept and reported by
// readers, with the position where intact data resumes: nothing after it
// is dropped silently.
func TestMidLogCorruptionIsReported(t *testing.T) {
	const n, size = 50, 300
	tests := []struct {
		name   string
		opts   func(dir string) Options
		victim int // record to damage
		at     int // offset in its frame: 0..8 header, 9.. payload
		// whether Open sees it (damage in the scanned last segment)
		recovered bool
	}{
		{"payload, last segment", func(dir string) Options { return Options{Dir: dir, tornWindow: 1024} }, 10, 100, true},
		{"length, last segment", func(dir string) Options { return Options{Dir: dir, tornWindow: 1024} }, 10, 7, true},
		{"type, last segment", func(dir string) Options { return Options{Dir: dir, tornWindow: 1024} }, 0, 8, true},
		{"payload, older segment", func(dir string) Options { return Options{Dir: dir, SegmentBytes: 4 << 10} }, 14, 200, false},
		{"last record of an older segment", func(dir string) Options { return Options{Dir: dir, SegmentBytes: 4 << 10} }, 12, 50, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := tt.opts(dir)
			recs := fill(t, opts, n, size)
			seg, off := segmentOf(t, dir, recs[tt.victim].pos)
			flipByte(t, seg, off+int64(tt.at))

			l := openLog(t, opts)
			ri := l.Recovery()
			if ri.Cut || ri.Corrupt != tt.recovered || (tt.recovered && ri.CorruptPos != recs[tt.victim].pos) {
				t.Fatalf("recovery %+v", ri)
			}
			got, err := readAll(t, l, 0)
			var ce *CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("read stopped with %v after %d records, want a CorruptError", err, len(got))
			}
			if len(got) != tt.victim || ce.Pos != recs[tt.victim].pos {
				t.Fatalf("%d records then %v; want %d records then damage at %d", len(got), ce, tt.victim, recs[tt.victim].pos)
			}
			// The next good record resumes: its frame, or the next segment.
			resume := recs[tt.victim+1].pos
			if ce.Resume != resume {
				// Segments start at the end of the one before: the next
				// record's position is the next segment's base too.
				t.Fatalf("resume at %d, want %d (%v)", ce.Resume, resume, ce)
			}
			// New appends go after the damage, never over it.
			if _, err := l.Append([]byte("after damage")); err != nil {
				t.Fatal(err)
			}
			rest := mustReadAll(t, l, ce.Resume)
			if len(rest) != n-tt.victim {
				t.Fatalf("%d records from resume, want %d", len(rest), n-tt.victim)
			}
			for i, r := range rest[:len(rest)-1] {
				if !bytes.Equal(r.rec, recs[tt.victim+1+i].rec) {
					t.Fatalf("record %d after resume differs", i)
				}
			}
			if string(rest[len(rest)-1].rec) != "after damage" {
				t.Fatalf("last record %q", rest[len(rest)-1].rec)
			}
			// The error is sticky.
			r := l.NewReader(ce.Pos)
			defer r.Close()
			for range 2 {
				if _, _, err := r.Next(); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Next at damage: %v", err)
				}
			}
		})
	}
}

func TestDamagedHeaderFailsOpen(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, seg string)
	}{
		{"bad magic", func(t *testing.T, seg string) { flipByte(t, seg, 2) }},
		{"bad base", func(t *testing.T, seg string) { flipByte(t, seg, 17) }},
		{"short", func(t *testing.T, seg string) { os.Truncate(seg, 10) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			fill(t, Options{Dir: dir}, 3, 10)
			tt.damage(t, lastSegment(t, dir))
			l, err := Open(Options{Dir: dir})
			if !errors.Is(err, ErrCorrupt) {
				if err == nil {
					l.Close()
				}
				t.Fatalf("Open: %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestLeftoverTemporaryFilesRemoved(t *testing.T) {
	dir := t.TempDir()
	fill(t, Options{Dir: dir}, 3, 10)
	for _, name := range []string{segName(1<<40) + tmpSuffix, "shipper" + cursorSuffix + tmpSuffix} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l := openLog(t, Options{Dir: dir})
	if m, _ := filepath.Glob(filepath.Join(dir, "*"+tmpSuffix)); len(m) != 0 {
		t.Fatalf("temporary files left: %v", m)
	}
	if got := mustReadAll(t, l, 0); len(got) != 3 {
		t.Fatalf("%d records, want 3", len(got))
	}
}

// FuzzRecover writes arbitrary bytes after the records of the last segment:
// Open must not fail or panic, the written records must come back intact
// and first, and anything else a reader returns must be a whole, valid
// frame present in the fuzzed bytes (as a real torn write would hold);
// appends after recovery must be readable.
func FuzzRecover(f *testing.F) {
	whole := appendFrame(nil, []byte("a record that looks written"))
	f.Add([]byte{})
	f.Add([]byte{0})
	f.Add(make([]byte, 300))
	f.Add(whole)
	f.Add(whole[:len(whole)-1])
	f.Add(whole[:5])
	f.Add(append(bytes.Clone(whole), whole[:12]...))
	f.Add(append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1}, whole...))
	f.Add([]byte{0, 0, 0, 0, 0xff, 0xff, 0x0f, 0, 1}) // length within the limit, past the end
	f.Add([]byte{0, 0, 0, 0, 0x01, 0x00, 0x10, 0, 1}) // length over MaxRecordSize
	f.Fuzz(func(t *testing.T, tail []byte) {
		dir := t.TempDir()
		opts := Options{Dir: dir, SegmentBytes: 2 << 10, NoSync: true}
		written := fill(t, opts, 12, 100)
		appendFile(t, lastSegment(t, dir), tail)

		l, err := Open(opts)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer l.Close()
		r := l.NewReader(0)
		defer r.Close()
		for i := 0; ; i++ {
			rec, _, err := r.Next()
			if err == io.EOF {
				if i < len(written) {
					t.Fatalf("only %d of %d written records", i, len(written))
				}
				break
			}
			if err != nil {
				if i < len(written) || !errors.Is(err, ErrCorrupt) {
					t.Fatalf("record %d: %v", i, err)
				}
				break
			}
			switch {
			case i < len(written):
				if !bytes.Equal(rec, written[i].rec) {
					t.Fatalf("written record %d differs", i)
				}
			case !bytes.Contains(tail, appendFrame(nil, rec)):
				t.Fatalf("record %d (%d bytes) was never written", i, len(rec))
			}
		}
		end, err := l.Append([]byte("after"))
		if err != nil {
			t.Fatalf("Append after recovery: %v", err)
		}
		r2 := l.NewReader(end - Pos(frameHeaderSize+5))
		defer r2.Close()
		if rec, next, err := r2.Next(); err != nil || string(rec) != "after" || next != end {
			t.Fatalf("record appended after recovery: %q %d %v", rec, next, err)
		}
	})
}
