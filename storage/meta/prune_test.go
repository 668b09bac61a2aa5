package meta_test

import (
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/storage/meta"
)

// Sent events older than KeepFor go (their (lead, stage) can be queued
// again); pending ones and younger ones stay.
func TestPrune(t *testing.T) {
	e := newEnv(t, testConfig(t), ok)
	now := e.clock.Now()
	enqueue(t, e, events(0, 3, "Lead", now.Add(-time.Hour)))
	stop := start(t, e.f)
	waitStatus(t, e, meta.StatusSent, 3)
	stop()
	e.clock.Advance(meta.DefaultKeepFor)
	later := e.clock.Now()
	enqueue(t, e, events(10, 2, "Lead", later.Add(-time.Hour))) // pending: not sent while stopped

	n, err := e.f.Prune(t.Context(), later.Add(-meta.DefaultKeepFor))
	if err != nil || n != 3 {
		t.Fatalf("Prune = %d, %v; want the 3 old sent events", n, err)
	}
	if got := len(list(t, e, meta.StatusSent)); got != 0 {
		t.Errorf("%d sent events left", got)
	}
	if got := len(list(t, e, meta.StatusPending)); got != 2 {
		t.Errorf("%d pending events, want 2", got)
	}
	// Gone from the dedupe too: the same lead and stage is news again.
	if res := enqueue(t, e, events(0, 1, "Lead", later.Add(-time.Hour))); res[0].Status != "queued" {
		t.Errorf("the pruned (lead, stage) again: %+v", res[0])
	}
	if n, err := e.f.Prune(t.Context(), later.Add(-meta.DefaultKeepFor)); n != 0 || err != nil {
		t.Errorf("Prune again = %d, %v", n, err)
	}
}
