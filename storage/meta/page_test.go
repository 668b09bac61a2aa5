package meta_test

import (
	"context"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/storage/meta"
)

// A page holds at most MaxEventsPage events, however many are asked for;
// walking the pages by offset gives every event once.
func TestEventsPages(t *testing.T) {
	e := newEnv(t, testConfig(t), ok) // not started: events stay pending
	enqueue(t, e, events(0, meta.MaxEventsPage+5, "Lead", e.clock.Now().Add(-time.Hour)))
	ctx := context.Background()
	evs, more, err := e.f.EventsPage(ctx, testAccount, testDataset, "", 0, 5000)
	if err != nil || len(evs) != meta.MaxEventsPage || !more {
		t.Fatalf("a page asked for 5000: %d events, more %v, %v; want %d and more", len(evs), more, err, meta.MaxEventsPage)
	}
	seen := map[string]bool{}
	for offset := 0; ; {
		evs, more, err := e.f.EventsPage(ctx, testAccount, testDataset, "", offset, 300)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if seen[ev.LeadID] {
				t.Fatalf("lead %s on two pages", ev.LeadID)
			}
			seen[ev.LeadID] = true
		}
		offset += len(evs)
		if !more {
			break
		}
	}
	if len(seen) != meta.MaxEventsPage+5 {
		t.Errorf("pages gave %d events, want %d", len(seen), meta.MaxEventsPage+5)
	}
}
