package wal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestReaderWaitsForNewData(t *testing.T) {
	l := openLog(t, Options{Dir: t.TempDir(), SegmentBytes: 1 << 10})
	r := l.NewReader(0)
	defer r.Close()
	if _, _, err := r.Next(); err != io.EOF {
		t.Fatalf("Next on an empty log: %v, want io.EOF", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := l.Wait(ctx, r.Pos()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait with nothing new: %v, want deadline exceeded", err)
	}

	done := make(chan error, 1)
	go func() { done <- l.Wait(t.Context(), r.Pos()) }()
	time.Sleep(5 * time.Millisecond)
	end, err := l.Append([]byte("first"))
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Wait: %v", err)
	}
	rec, next, err := r.Next()
	if err != nil || string(rec) != "first" || next != end {
		t.Fatalf("Next = %q, %d, %v", rec, next, err)
	}
	if err := l.Wait(t.Context(), 0); err != nil {
		t.Fatalf("Wait below the end: %v", err)
	}
}

// The reader never returns a record that is written but not yet synced,
// since its Append has not returned.
func TestReaderNeverSeesUnsyncedRecords(t *testing.T) {
	written := make(chan struct{})
	release := make(chan struct{})
	var armed atomic.Bool
	l := openLog(t, Options{Dir: t.TempDir(), afterWrite: func() {
		if armed.CompareAndSwap(true, false) {
			close(written)
			<-release
		}
	}})
	if _, err := l.Append([]byte("synced")); err != nil {
		t.Fatal(err)
	}
	armed.Store(true)

	appended := make(chan error, 1)
	go func() {
		_, err := l.Append([]byte("pending"))
		appended <- err
	}()
	<-written // in the file, not synced, not acknowledged
	r := l.NewReader(0)
	defer r.Close()
	if rec, _, err := r.Next(); err != nil || string(rec) != "synced" {
		t.Fatalf("Next = %q, %v", rec, err)
	}
	if rec, _, err := r.Next(); err != io.EOF {
		t.Fatalf("reader saw %q before it was synced (err %v)", rec, err)
	}
	select {
	case err := <-appended:
		t.Fatalf("Append returned before its fsync: %v", err)
	default:
	}
	close(release)
	if err := <-appended; err != nil {
		t.Fatal(err)
	}
	if rec, _, err := r.Next(); err != nil || string(rec) != "pending" {
		t.Fatalf("after the sync: %q, %v", rec, err)
	}
}

// A tailing reader runs alongside appenders and rollovers and gets every
// record once, in log order.
func TestTailingReader(t *testing.T) {
	l := openLog(t, Options{Dir: t.TempDir(), SegmentBytes: 2 << 10})
	const goroutines, perG = 8, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				if _, err := l.Append(record(fmt.Sprintf("g%d-%d.", g, i), 100+i%300)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	r := l.NewReader(0)
	defer r.Close()
	seen := map[string]bool{}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for len(seen) < goroutines*perG {
		rec, _, err := r.Next()
		if err == io.EOF {
			if err := l.Wait(ctx, r.Pos()); err != nil {
				t.Fatalf("Wait after %d records: %v", len(seen), err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if seen[string(rec)] {
			t.Fatalf("record %.20s read twice", rec)
		}
		seen[string(rec)] = true
	}
	wg.Wait()
	if _, _, err := r.Next(); err != io.EOF {
		t.Fatalf("after all records: %v", err)
	}
}
