package meta_test

import (
	"context"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/storage/meta"
)

// (g) pending events survive Close and Open, and so does a rate-limit pause.
func TestRestart(t *testing.T) {
	t.Run("pending events", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.NoSync = false
		e := newEnv(t, cfg, ok)
		enqueue(t, e, events(0, 5, "Lead", e.clock.Now().Add(-time.Hour)))
		if err := e.f.Close(); err != nil {
			t.Fatal(err)
		}
		e.f = open(t, e.cfg, e.deps())
		if n := len(list(t, e, meta.StatusPending)); n != 5 {
			t.Fatalf("%d pending after reopening, want 5", n)
		}
		if e.g.count() != 0 {
			t.Fatal("sent without Run")
		}
		start(t, e.f)
		waitStatus(t, e, meta.StatusSent, 5)
		if n := e.g.count(); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("rate-limit pause", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.NoSync = false
		cfg.Backoff = func(int) time.Duration { return time.Hour }
		e := newEnv(t, cfg, func(n int, r graphReq) (int, string) {
			if n == 1 {
				return 429, ``
			}
			return ok(n, r)
		})
		enqueue(t, e, events(0, 2, "Lead", e.clock.Now()))
		stop := start(t, e.f)
		waitFor(t, "the first request", func() bool { return e.g.count() == 1 })
		waitFor(t, "the pause", func() bool {
			dg, _ := e.f.Diagnostics(context.Background(), testAccount, testDataset, e.clock.Now())
			return !dg.PausedUntil.IsZero()
		})
		stop()
		e.f.Close()
		e.f = open(t, cfg, e.deps())
		start(t, e.f)
		quiet(t, e.g, 400*time.Millisecond)
		e.clock.Advance(61 * time.Minute)
		waitStatus(t, e, meta.StatusSent, 2)
	})
	t.Run("switched off", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.NoSync = false
		off := false
		e := newEnv(t, cfg, ok, func(d *meta.Dataset) { d.Enabled = &off })
		enqueue(t, e, events(0, 3, "Lead", e.clock.Now()))
		e.f.Close()
		e.f = open(t, cfg, e.deps())
		start(t, e.f)
		e.clock.Advance(time.Hour) // well past FlushDelay: only the switch holds them
		quiet(t, e.g, 400*time.Millisecond)
		if n := len(list(t, e, meta.StatusPending)); n != 3 {
			t.Fatalf("%d pending while switched off, want 3", n)
		}
		d, err := e.f.Dataset(context.Background(), testAccount, testDataset)
		if err != nil {
			t.Fatal(err)
		}
		on := true
		d.Enabled = &on
		if err := e.f.PutDataset(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, e, meta.StatusSent, 3)
	})
}
