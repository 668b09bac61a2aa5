package meta_test

import (
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/storage/meta"
)

// SPEC §1.6: a stage dated before the lead's first event already received
// is refused; the same stage again is a duplicate, not an ordering
// problem; within one request stages are taken in time order.
func TestEventBeforeTheLeadsFirstEventRejected(t *testing.T) {
	e := newEnv(t, testConfig(t), ok)
	now := e.clock.Now()
	first := meta.Event{LeadID: lead(7), EventName: "raw_lead", EventTime: now.Add(-2 * time.Hour), LeadEventSource: "Zoho"}
	later := meta.Event{LeadID: lead(7), EventName: "qualified", EventTime: now.Add(-time.Hour), LeadEventSource: "Zoho"}
	early := meta.Event{LeadID: lead(7), EventName: "contacted", EventTime: now.Add(-3 * time.Hour), LeadEventSource: "Zoho"}
	other := meta.Event{LeadID: lead(8), EventName: "contacted", EventTime: now.Add(-3 * time.Hour), LeadEventSource: "Zoho"}
	res := enqueue(t, e, []meta.Event{later, first}) // out of order in one request: both taken
	res = append(res, enqueue(t, e, []meta.Event{early, other, first})...)
	want := []string{meta.ResultQueued, meta.ResultQueued, meta.ResultRejected, meta.ResultQueued, meta.ResultDuplicate}
	for i, r := range res {
		if r.Status != want[i] {
			t.Errorf("event %d: %s (%s), want %s", i, r.Status, r.Reason, want[i])
		}
	}
	if res[2].Reason != meta.ReasonBeforeFirstEvent {
		t.Errorf("reason %q, want %s", res[2].Reason, meta.ReasonBeforeFirstEvent)
	}
}
