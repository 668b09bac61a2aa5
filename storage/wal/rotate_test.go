package wal

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// Rotate seals the active segment, so that Release can delete records long
// before their segment would have filled (the hits of an erased person).
func TestRotateLetsReleaseDeleteTheRecordsBefore(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, Options{Dir: dir}) // 64 MiB segments: nothing rolls by itself
	if _, err := l.Append(record("secret-1", 100), record("secret-2", 100)); err != nil {
		t.Fatal(err)
	}
	pos, err := l.Rotate()
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if pos != l.End() {
		t.Fatalf("Rotate returned %d, want the end of the log %d", pos, l.End())
	}
	if _, err := l.Append(record("after", 100)); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(pos); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if l.First() != pos {
		t.Errorf("First() = %d after Release(%d), want %d", l.First(), pos, pos)
	}
	recs := mustReadAll(t, l, l.First())
	if len(recs) != 1 || !bytes.HasPrefix(recs[0].rec, []byte("after")) {
		t.Errorf("records left after the release: %d, want the one appended after Rotate", len(recs))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(dir + "/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("secret-")) {
			t.Errorf("%s still holds a released record", e.Name())
		}
	}

	// An active segment without records is not rotated again.
	segs := l.Stats().Segments
	if pos2, err := l.Rotate(); err != nil || pos2 != l.End() {
		t.Fatalf("Rotate = %d, %v; want %d", pos2, err, l.End())
	}
	if pos3, err := l.Rotate(); err != nil || pos3 != l.End() || l.Stats().Segments != segs+1 {
		t.Errorf("a second Rotate with no record in between: pos %d (end %d), %v, %d segments, want %d",
			pos3, l.End(), err, l.Stats().Segments, segs+1)
	}

	// Reopened, the log has what was appended after the first rotation.
	l.Close()
	l = openLog(t, Options{Dir: dir})
	if recs := mustReadAll(t, l, l.First()); len(recs) != 1 {
		t.Errorf("after reopening: %d records, want 1", len(recs))
	}
	if _, err := l.Append(record("more", 10)); err != nil {
		t.Errorf("Append after reopening: %v", err)
	}
}

// Rotations racing with appends lose and reorder nothing.
func TestRotateDuringAppends(t *testing.T) {
	l := openLog(t, Options{Dir: t.TempDir()})
	const writers, each = 4, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := l.Append(record(fmt.Sprintf("w%d-%04d|", w, i), 50)); err != nil {
					t.Errorf("Append: %v", err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Rotate a log with records in it.
		for deadline := time.Now().Add(20 * time.Second); l.End() == 0; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Error("no record appended after 20s: nothing to rotate")
				return
			}
		}
		for range 50 {
			if _, err := l.Rotate(); err != nil {
				t.Errorf("Rotate: %v", err)
				return
			}
		}
	}()
	wg.Wait()
	<-done
	recs := mustReadAll(t, l, l.First())
	if len(recs) != writers*each {
		t.Fatalf("%d records read, want %d", len(recs), writers*each)
	}
	last := map[string]string{}
	for _, r := range recs {
		tag := string(r.rec[:bytes.IndexByte(r.rec, '|')])
		w := tag[:bytes.IndexByte([]byte(tag), '-')]
		if tag <= last[w] {
			t.Fatalf("record %s after %s", tag, last[w])
		}
		last[w] = tag
	}
	if l.Stats().Segments < 2 {
		t.Errorf("%d segments: the rotations made none", l.Stats().Segments)
	}
}

func TestRotateClosed(t *testing.T) {
	l := openLog(t, Options{Dir: t.TempDir()})
	l.Close()
	if _, err := l.Rotate(); err != ErrClosed {
		t.Errorf("Rotate after Close: %v, want ErrClosed", err)
	}
}
