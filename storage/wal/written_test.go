package wal

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// waitLimit bounds the waits of these tests: generous for a loaded machine.
const waitLimit = 20 * time.Second

// holdSyncs returns a beforeSync hook that, once armed, stops the syncer
// before its next fsync until release is closed, and a channel closed when
// the syncer got there.
func holdSyncs() (hook func(), arm func() (held <-chan struct{}, release func())) {
	var gate atomic.Pointer[[2]chan struct{}]
	hook = func() {
		if g := gate.Swap(nil); g != nil {
			close(g[0])
			<-g[1]
		}
	}
	arm = func() (<-chan struct{}, func()) {
		g := &[2]chan struct{}{make(chan struct{}), make(chan struct{})}
		gate.Store(g)
		return g[0], func() { close(g[1]) }
	}
	return hook, arm
}

func recvWithin[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("waited %v for %s", waitLimit, what)
		panic("unreachable")
	}
}

// AppendWritten returns while the fsync of its record is held, and never
// waits behind an fsync in progress; a durable Append waits for it; a
// Reader sees neither record until the fsync is done.
func TestAppendWrittenReturnsBeforeFsync(t *testing.T) {
	hook, arm := holdSyncs()
	l := openLog(t, Options{Dir: t.TempDir(), beforeSync: hook})
	if _, err := l.Append([]byte("synced")); err != nil {
		t.Fatal(err)
	}
	held, release := arm()
	durable := make(chan error, 1)
	go func() {
		_, err := l.Append([]byte("durable"))
		durable <- err
	}()
	recvWithin(t, held, "the syncer to start the durable Append's fsync")

	// An fsync is in progress (held): a written-only append still returns.
	written := make(chan error, 1)
	var pos Pos
	go func() {
		p, err := l.AppendWritten([]byte("written"))
		pos = p
		written <- err
	}()
	if err := recvWithin(t, written, "AppendWritten while an fsync is held"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-durable:
		t.Fatalf("durable Append returned before its fsync: %v", err)
	default:
	}
	if got := l.Stats().Written; got != 1 {
		t.Errorf("Stats.Written = %d, want 1", got)
	}
	r := l.NewReader(0)
	defer r.Close()
	if rec, _, err := r.Next(); err != nil || string(rec) != "synced" {
		t.Fatalf("Next = %q, %v", rec, err)
	}
	if rec, _, err := r.Next(); err != io.EOF {
		t.Fatalf("reader saw %q before its fsync (err %v)", rec, err)
	}
	if l.End() >= pos {
		t.Fatalf("End %d covers the unsynced record ending at %d", l.End(), pos)
	}

	release()
	if err := recvWithin(t, durable, "the durable Append after the fsync"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	if err := l.Wait(ctx, pos-1); err != nil {
		t.Fatalf("waiting for the written record to be synced: %v", err)
	}
	var got []string
	for {
		rec, _, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(rec))
	}
	if s := strings.Join(got, ","); s != "durable,written" && s != "written,durable" {
		t.Fatalf("after the fsyncs the reader got %q", s)
	}
}

// A written-only record is synced by a cadence timer of at most
// SyncCadence (5 ms) started at its write, and not before that timer
// fires while nobody waits for durability.
func TestAppendWrittenSyncedOnCadence(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cadence time.Duration
		want    time.Duration
	}{
		{"default", 0, 5 * time.Millisecond},
		{"option", 2 * time.Millisecond, 2 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asked := make(chan time.Duration, 16)
			fire := make(chan time.Time)
			l := openLog(t, Options{Dir: t.TempDir(), SyncCadence: tc.cadence,
				cadenceTimer: func(d time.Duration) <-chan time.Time {
					asked <- d
					return fire
				}})
			fsyncs := l.Stats().Fsyncs
			pos, err := l.AppendWritten([]byte("r"))
			if err != nil {
				t.Fatal(err)
			}
			d := recvWithin(t, asked, "the syncer to arm its cadence timer")
			if d <= 0 || d > tc.want {
				t.Fatalf("cadence timer of %v, want (0, %v]", d, tc.want)
			}
			if got := l.Stats().Fsyncs; got != fsyncs {
				t.Fatalf("%d fsyncs before the cadence fired", got-fsyncs)
			}
			if l.End() >= pos {
				t.Fatalf("End %d covers the record before its fsync", l.End())
			}
			select {
			case fire <- time.Time{}:
			case <-time.After(waitLimit):
				t.Fatal("the syncer never waited on its cadence timer")
			}
			ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
			defer cancel()
			if err := l.Wait(ctx, pos-1); err != nil {
				t.Fatalf("waiting for the cadence fsync: %v", err)
			}
			if got := l.Stats().Fsyncs; got != fsyncs+1 {
				t.Fatalf("%d fsyncs after the cadence, want 1", got-fsyncs)
			}
		})
	}
}

// A durable Append does not wait for the cadence of the written-only
// records before it: its fsync starts at once and covers them.
func TestDurableAppendDoesNotWaitForCadence(t *testing.T) {
	armed := make(chan struct{}, 16)
	l := openLog(t, Options{Dir: t.TempDir(), cadenceTimer: func(time.Duration) <-chan time.Time {
		armed <- struct{}{}
		return nil // never fires
	}})
	wpos, err := l.AppendWritten([]byte("written"))
	if err != nil {
		t.Fatal(err)
	}
	recvWithin(t, armed, "the syncer to wait on its cadence")
	done := make(chan error, 1)
	go func() {
		_, err := l.Append([]byte("durable"))
		done <- err
	}()
	if err := recvWithin(t, done, "the durable Append, with the cadence timer never firing"); err != nil {
		t.Fatal(err)
	}
	if l.End() < wpos {
		t.Fatalf("End %d: the durable fsync did not cover the written record ending at %d", l.End(), wpos)
	}
}

// Written-only appends never leave more than the torn-tail window
// unsynced: past it, the flusher waits for an fsync, so a crash of the
// machine can only damage what recovery cuts as a torn tail.
func TestAppendWrittenBoundsUnsyncedBytes(t *testing.T) {
	hook, arm := holdSyncs()
	l := openLog(t, Options{Dir: t.TempDir(), beforeSync: hook, tornWindow: 2048})
	held, release := arm()
	durable := make(chan error, 1)
	go func() {
		_, err := l.Append([]byte("a"))
		durable <- err
	}()
	recvWithin(t, held, "the syncer to start an fsync")
	rec := record("w.", 1000)
	for i := range 2 { // 2 frames of 1008 bytes fit in the window
		if _, err := l.AppendWritten(rec); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	third := make(chan error, 1)
	go func() {
		_, err := l.AppendWritten(rec)
		third <- err
	}()
	// The third is over the window with the fsync held: it must wait. A
	// short look suffices to see it did not return at once; the check
	// that matters is below (it returns only after the release).
	select {
	case err := <-third:
		t.Fatalf("AppendWritten went past the unsynced window with an fsync held (err %v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	release()
	if err := recvWithin(t, durable, "the durable Append after release"); err != nil {
		t.Fatal(err)
	}
	if err := recvWithin(t, third, "the third AppendWritten once the window was synced"); err != nil {
		t.Fatal(err)
	}
	if recs := mustReadAll(t, l, 0); len(recs) < 3 {
		t.Fatalf("%d records synced, want at least the durable one and the first two", len(recs))
	}
}

func TestSyncCadenceValidation(t *testing.T) {
	for _, c := range []time.Duration{-time.Millisecond, 6 * time.Millisecond} {
		if _, err := Open(Options{Dir: t.TempDir(), SyncCadence: c}); err == nil || !strings.Contains(err.Error(), "sync cadence") {
			t.Errorf("SyncCadence %v: err %v, want a sync cadence error", c, err)
		}
	}
}

// A failed fsync after written-only appends returned fails the Log: the
// Append waiting for it and every later append get the error, and no
// reader ever sees the records the fsync did not cover.
func TestFailedFsyncAfterAppendWrittenIsSticky(t *testing.T) {
	var fail atomic.Bool
	errDisk := errors.New("disk gone")
	l := openLog(t, Options{Dir: t.TempDir(), syncErr: func() error {
		if fail.Load() {
			return errDisk
		}
		return nil
	}})
	if _, err := l.Append([]byte("synced")); err != nil {
		t.Fatal(err)
	}
	end := l.End()
	fail.Store(true)
	if _, err := l.AppendWritten([]byte("written")); err != nil {
		t.Fatalf("AppendWritten before the failed fsync: %v", err)
	}
	if _, err := l.Append([]byte("durable")); !errors.Is(err, errDisk) {
		t.Fatalf("durable Append over a failed fsync: %v, want %v", err, errDisk)
	}
	for name, appendRec := range map[string]func(...[]byte) (Pos, error){"Append": l.Append, "AppendWritten": l.AppendWritten} {
		if _, err := appendRec([]byte("later")); err == nil || !strings.Contains(err.Error(), "failed earlier") || !errors.Is(err, errDisk) {
			t.Errorf("%s after the failed fsync: %v, want the sticky failure", name, err)
		}
	}
	if l.End() != end {
		t.Errorf("End moved from %d to %d over a failed fsync", end, l.End())
	}
	if recs := mustReadAll(t, l, 0); len(recs) != 1 {
		t.Errorf("reader sees %d records, want the 1 synced before the failure", len(recs))
	}
}
