package wal

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Rewrite erases and shortens records of sealed segments in place: the
// other records keep their positions (a saved cursor and a Reader opened
// before go on as if nothing happened), the erased ones are skipped, no
// byte of them is left in the directory, and the log reopens as it was.
func TestRewriteErasesInPlace(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, Options{Dir: dir, SegmentBytes: 1 << 10})
	var want []string
	var ends []Pos
	for i := range 40 {
		tag := "keep-"
		switch i % 4 {
		case 1:
			tag = "SECRET-"
		case 2:
			tag = "shorten-"
		}
		rec := record(tag+string(rune('A'+i%26)), 100)
		end, err := l.Append(rec)
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, end)
		switch tag {
		case "keep-":
			want = append(want, string(rec))
		case "shorten-":
			want = append(want, "short"+strings.Repeat("\x00", 95))
		}
	}
	// A consumer's cursor after record 10, and a reader part-way in.
	if err := l.SaveCursor("consumer", ends[10]); err != nil {
		t.Fatal(err)
	}
	early := l.NewReader(ends[4])
	defer early.Close()
	if _, _, err := early.Next(); err != nil {
		t.Fatal(err)
	}
	rotated, err := l.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	st, err := l.Rewrite(func(rec []byte) ([]byte, bool) {
		switch {
		case bytes.HasPrefix(rec, []byte("SECRET-")):
			return nil, true
		case bytes.HasPrefix(rec, []byte("shorten-")):
			return []byte("short"), false
		}
		return nil, false
	})
	if err != nil {
		t.Fatalf("Rewrite: %v", err)
	}
	if st.Erased != 10 || st.Replaced != 10 || st.Segments == 0 {
		t.Errorf("Rewrite = %+v, want 10 erased, 10 replaced", st)
	}
	if _, err := l.Append(record("after", 50)); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		recs := mustReadAll(t, l, l.First())
		var got []string
		for _, r := range recs {
			if r.next <= rotated {
				got = append(got, string(r.rec))
			}
			// Each record ends where it ended before the rewrite.
			if i := indexPos(ends, r.next); r.next <= rotated && i < 0 {
				t.Errorf("%s: a record ends at %d, not a position the log gave", when, r.next)
			}
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s: records\n%q\nwant\n%q", when, got, want)
		}
		// Reading from the saved cursor gives what follows record 10:
		// records 11, 12, then 14 (13 is erased).
		c, err := l.Cursor("consumer")
		if err != nil {
			t.Fatal(err)
		}
		from := mustReadAll(t, l, c)
		if len(from) < 3 || !bytes.HasPrefix(from[0].rec, []byte("keep-L")) || from[0].next != ends[11] || from[1].next != ends[12] || from[2].next != ends[14] {
			t.Errorf("%s: from the cursor, %d records, the first %q ending at %d, want record 11 ending at %d, then 12 and 14",
				when, len(from), from[0].rec, from[0].next, ends[11])
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{"SECRET-", "shorten-"} {
				if bytes.Contains(b, []byte(s)) {
					t.Errorf("%s: %s still holds %q", when, e.Name(), s)
				}
			}
		}
	}
	check("after the rewrite")
	// The reader opened before goes on (from the file it had open).
	if _, next, err := early.Next(); err != nil || next != ends[6] {
		t.Errorf("the early reader: next %d, %v; want %d", next, err, ends[6])
	}
	l.Close()
	l = openLog(t, Options{Dir: dir, SegmentBytes: 1 << 10})
	if r := l.Recovery(); r.Corrupt || r.Cut {
		t.Errorf("recovery after the rewrite: %+v", r)
	}
	check("after reopening")
	if err := l.Release(ends[20]); err != nil {
		t.Errorf("Release after the rewrite: %v", err)
	}
	// Nothing to change: no segment is written again.
	if st, err := l.Rewrite(func([]byte) ([]byte, bool) { return nil, false }); err != nil || st != (RewriteStats{}) {
		t.Errorf("a rewrite changing nothing: %+v, %v", st, err)
	}
	if _, err := l.Rewrite(func([]byte) ([]byte, bool) { return make([]byte, 200), false }); err == nil {
		t.Error("a longer replacement was accepted")
	}
}

func indexPos(ps []Pos, p Pos) int {
	for i, q := range ps {
		if q == p {
			return i
		}
	}
	return -1
}

// A damaged region of a segment being rewritten is copied as it is: the
// records around it are rewritten, and a reader meets the same damage and
// resumes at the same place.
func TestRewriteKeepsDamageAsItIs(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, Options{Dir: dir, SegmentBytes: 4 << 10})
	var ends []Pos
	for i := range 12 {
		tag := "keep-"
		if i%3 == 0 {
			tag = "SECRET-"
		}
		end, err := l.Append(record(tag+string(rune('A'+i)), 100))
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, end)
	}
	if _, err := l.Rotate(); err != nil {
		t.Fatal(err)
	}
	// Damage record 4 (a kept one) in the sealed segment.
	seg := filepath.Join(dir, segName(0))
	f, err := os.OpenFile(seg, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("XXXX"), segHeaderSize+int64(ends[3])+frameHeaderSize+20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	read := func() (got []string, corrupt *CorruptError) {
		r := l.NewReader(0)
		defer r.Close()
		for {
			rec, _, err := r.Next()
			if err != nil {
				if ce, ok := err.(*CorruptError); ok && corrupt == nil {
					corrupt = ce
					r.Close()
					r = l.NewReader(ce.Resume)
					continue
				}
				return got, corrupt
			}
			got = append(got, string(rec[:7]))
		}
	}
	_, before := read()
	st, err := l.Rewrite(func(rec []byte) ([]byte, bool) { return nil, bytes.HasPrefix(rec, []byte("SECRET-")) })
	if err != nil || st.Erased != 4 { // records 0, 3, 6 and 9
		t.Fatalf("Rewrite = %+v, %v", st, err)
	}
	got, after := read()
	if before == nil || after == nil || before.Pos != after.Pos || before.Resume != after.Resume {
		t.Errorf("damage before the rewrite %v, after %v; want the same", before, after)
	}
	for _, g := range got {
		if strings.HasPrefix(g, "SECRET-") {
			t.Errorf("an erased record is still read: %q", g)
		}
	}
	if len(got) != 7 { // 8 kept records, one of them damaged
		t.Errorf("read %d records after the rewrite: %q, want 7", len(got), got)
	}
}

// A segment Release deletes while Rewrite runs stays deleted.
func TestRewriteRacingRelease(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, Options{Dir: dir, SegmentBytes: 1 << 10})
	var last Pos
	for i := range 200 {
		end, err := l.Append(record("SECRET-"+string(rune('A'+i%26)), 100))
		if err != nil {
			t.Fatal(err)
		}
		last = end
	}
	if _, err := l.Rotate(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := l.Rewrite(func([]byte) ([]byte, bool) { return nil, true })
		done <- err
	}()
	if err := l.Release(last / 2); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if base, ok := parseSegName(e.Name()); ok && base < l.First() {
			t.Errorf("segment %s below the first kept position %d came back", e.Name(), l.First())
		}
		if strings.HasSuffix(e.Name(), tmpSuffix) {
			t.Errorf("temporary file %s left", e.Name())
		}
	}
}
