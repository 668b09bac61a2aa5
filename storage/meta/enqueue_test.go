package meta_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/meta"
)

func TestValidation(t *testing.T) {
	e := newEnv(t, testConfig(t), ok, func(d *meta.Dataset) { d.LeadEventSource = "" })
	now := e.clock.Now()
	good := meta.Event{LeadID: lead(1), EventName: "Lead", EventTime: now.Add(-time.Hour), LeadEventSource: "Zoho"}
	with := func(f func(*meta.Event)) meta.Event { ev := good; f(&ev); return ev }
	for _, tc := range []struct {
		name   string
		ev     meta.Event
		reason string // "" for queued
	}{
		{"valid 16 digits", good, ""},
		{"valid 15 digits", with(func(e *meta.Event) { e.LeadID = "123456789012345" }), ""},
		{"valid 17 digits", with(func(e *meta.Event) { e.LeadID = "12345678901234567" }), ""},
		{"lead id 14 digits", with(func(e *meta.Event) { e.LeadID = "12345678901234" }), "lead_id must be 15 to 17 digits"},
		{"lead id 18 digits", with(func(e *meta.Event) { e.LeadID = "123456789012345678" }), "lead_id must be 15 to 17 digits"},
		{"lead id with a letter", with(func(e *meta.Event) { e.LeadID = "12345678901234a" }), "lead_id must be 15 to 17 digits"},
		{"lead id negative", with(func(e *meta.Event) { e.LeadID = "-12345678901234" }), "lead_id must be 15 to 17 digits"},
		{"lead id empty", with(func(e *meta.Event) { e.LeadID = "" }), "lead_id must be 15 to 17 digits"},
		{"stage missing", with(func(e *meta.Event) { e.EventName = "  " }), "event_name (the stage) is missing"},
		{"stage 100 chars", with(func(e *meta.Event) { e.EventName = strings.Repeat("é", 100) }), ""},
		{"stage 101 chars", with(func(e *meta.Event) { e.EventName = strings.Repeat("a", 101) }), "at most 100 characters"},
		{"time missing", with(func(e *meta.Event) { e.EventTime = time.Time{} }), "event_time is missing"},
		{"time 4 min ahead", with(func(e *meta.Event) { e.EventTime = now.Add(4 * time.Minute) }), ""},
		{"time 6 min ahead", with(func(e *meta.Event) { e.EventTime = now.Add(6 * time.Minute) }), "event_time is in the future"},
		{"time 6 days 23 h old", with(func(e *meta.Event) { e.EventTime = now.Add(-167 * time.Hour) }), ""},
		{"time 7 days 1 h old", with(func(e *meta.Event) { e.EventTime = now.Add(-169 * time.Hour) }), "more than 7 days old"},
		{"no CRM name", with(func(e *meta.Event) { e.LeadEventSource = "" }), "lead_event_source (the CRM name) is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := enqueue(t, e, []meta.Event{tc.ev})[0]
			switch {
			case tc.reason == "" && res.Status == meta.ResultRejected:
				t.Errorf("result %+v, want accepted", res)
			case tc.reason != "" && (res.Status != meta.ResultRejected || !strings.Contains(res.Reason, tc.reason)):
				t.Errorf("result %+v, want rejected with %q", res, tc.reason)
			}
		})
	}
	rej := list(t, e, meta.StatusRejected)
	if len(rej) != 11 {
		t.Errorf("%d rejected events listed, want 11", len(rej))
	}
	for _, r := range rej {
		if r.Status != meta.StatusRejected || r.Error == "" {
			t.Errorf("rejected event %+v", r)
		}
	}
	// The valid ones of a mixed call are kept.
	res := enqueue(t, e, []meta.Event{with(func(e *meta.Event) { e.LeadID = "x" }), with(func(e *meta.Event) { e.EventName = "Mixed" })})
	if res[0].Status != meta.ResultRejected || res[1].Status != meta.ResultQueued {
		t.Errorf("mixed call: %+v", res)
	}
}

// (f) each (lead_id, stage) is sent once.
func TestDedupe(t *testing.T) {
	e := newEnv(t, testConfig(t), ok)
	now := e.clock.Now()
	ev := func(l int, stage string) meta.Event {
		return meta.Event{LeadID: lead(l), EventName: stage, EventTime: now.Add(-time.Hour)}
	}
	statuses := func(res []meta.EnqueueResult) string {
		var s []string
		for _, r := range res {
			s = append(s, r.Status)
		}
		return strings.Join(s, ",")
	}
	// In one call, and while pending.
	if got := statuses(enqueue(t, e, []meta.Event{ev(1, "Lead"), ev(1, "Lead"), ev(1, "Qualified"), ev(2, "Lead")})); got != "queued,duplicate,queued,queued" {
		t.Errorf("first call: %s", got)
	}
	res := enqueue(t, e, []meta.Event{ev(1, "Lead"), {LeadID: " " + lead(2) + " ", EventName: " Lead ", EventTime: now}})
	if got := statuses(res); got != "duplicate,duplicate" || res[0].Reason != "already pending" {
		t.Errorf("while pending: %+v", res)
	}
	start(t, e.f)
	waitStatus(t, e, meta.StatusSent, 3)
	// After it was sent, and with another time.
	res = enqueue(t, e, []meta.Event{ev(1, "Lead"), ev(1, "Won")})
	if got := statuses(res); got != "duplicate,queued" || res[0].Reason != "already sent" {
		t.Errorf("after sending: %+v", res)
	}
	waitStatus(t, e, meta.StatusSent, 4)
	time.Sleep(50 * time.Millisecond)
	seen := map[string]int{}
	for _, r := range e.g.requests() {
		for i, l := range r.Leads {
			seen[l+"/"+r.Data[i]["event_name"].(string)]++
		}
	}
	if len(seen) != 4 {
		t.Errorf("sent %v, want 4 distinct (lead, stage)", seen)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s sent %d times", k, n)
		}
	}
}

// A failed (lead, stage) may be enqueued again.
func TestFailedCanBeRequeued(t *testing.T) {
	e := newEnv(t, testConfig(t), func(int, graphReq) (int, string) {
		return 403, graphErr(10, 0, "Permission denied", "")
	})
	enqueue(t, e, events(0, 1, "Lead", e.clock.Now()))
	stop := start(t, e.f)
	waitStatus(t, e, meta.StatusFailed, 1)
	stop()
	e.g.setScript(ok)
	if res := enqueue(t, e, events(0, 1, "Lead", e.clock.Now())); res[0].Status != meta.ResultQueued {
		t.Fatalf("re-enqueue of a failed event: %+v", res[0])
	}
	start(t, e.f)
	waitStatus(t, e, meta.StatusSent, 1)
	if n := len(list(t, e, meta.StatusFailed)); n != 0 {
		t.Errorf("%d failed left", n)
	}
}

func TestUnknownDatasetAndClosed(t *testing.T) {
	e := newEnv(t, testConfig(t), ok)
	ctx := context.Background()
	if _, err := e.f.Enqueue(ctx, testAccount, "999", events(0, 1, "Lead", e.clock.Now())); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Enqueue to an unknown dataset = %v", err)
	}
	if _, err := e.f.Enqueue(ctx, "other", testDataset, events(0, 1, "Lead", e.clock.Now())); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("Enqueue to another account's dataset = %v", err)
	}
	if _, err := e.f.Dataset(ctx, "other", testDataset); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("Dataset of another account = %v", err)
	}
	if _, err := e.f.Events(ctx, testAccount, testDataset, "bogus", 10); !errors.Is(err, meta.ErrInvalid) {
		t.Errorf("Events(bogus) = %v", err)
	}
	e.f.Close()
	if _, err := e.f.Enqueue(ctx, testAccount, testDataset, nil); !errors.Is(err, meta.ErrClosed) {
		t.Errorf("Enqueue after Close = %v", err)
	}
	if _, err := e.f.Events(ctx, testAccount, testDataset, "", 10); !errors.Is(err, meta.ErrClosed) {
		t.Errorf("Events after Close = %v", err)
	}
	if err := e.f.Run(ctx); !errors.Is(err, meta.ErrClosed) {
		t.Errorf("Run after Close = %v", err)
	}
}

func TestDatasetStoreAndRedaction(t *testing.T) {
	e := newEnv(t, testConfig(t), ok)
	ctx := context.Background()
	d, err := e.f.Dataset(ctx, testAccount, testDataset)
	if err != nil {
		t.Fatal(err)
	}
	if d.AccessToken != testToken || d.PartnerAgent != testAgent || d.APIVersion != "v21.0" {
		t.Errorf("stored %+v", d.Redacted())
	}
	r := d.Redacted()
	if r.AccessToken != "****1234" || d.AccessToken != testToken {
		t.Errorf("Redacted token %q (original %q)", r.AccessToken, "…")
	}
	for _, s := range []string{d.String(), r.String()} {
		if strings.Contains(s, testToken) {
			t.Errorf("String leaks the token: %s", s)
		}
	}
	// Defaults, and every error at once.
	if err := e.f.PutDataset(ctx, meta.Dataset{ID: "42", Account: testAccount, AccessToken: "t"}); err != nil {
		t.Fatal(err)
	}
	d, _ = e.f.Dataset(ctx, testAccount, "42")
	if d.GraphBase != meta.DefaultGraphBase || d.APIVersion != meta.DefaultAPIVersion || d.PartnerAgent != meta.DefaultPartnerAgent {
		t.Errorf("defaults %+v", d.Redacted())
	}
	err = e.f.PutDataset(ctx, meta.Dataset{ID: "../x", APIVersion: "21", GraphBase: "ftp://x"})
	for _, want := range []string{"account", "dataset id", "access_token", "api_version", "graph_base"} {
		if !errors.Is(err, meta.ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("PutDataset(bad) = %v, want %s reported", err, want)
		}
	}
	all, err := e.f.Datasets(ctx, testAccount)
	if err != nil || len(all) != 2 {
		t.Errorf("Datasets = %d, %v", len(all), err)
	}
}

// Concurrent Enqueues of one (lead, stage) queue it once.
func TestDedupeConcurrent(t *testing.T) {
	e := newEnv(t, testConfig(t), ok)
	ev := events(7, 1, "Lead", e.clock.Now())
	results := make(chan string, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			res, err := e.f.Enqueue(context.Background(), testAccount, testDataset, ev)
			if err != nil {
				t.Error(err)
				return
			}
			results <- res[0].Status
		})
	}
	wg.Wait()
	close(results)
	queued := 0
	for s := range results {
		if s == meta.ResultQueued {
			queued++
		}
	}
	if queued != 1 {
		t.Errorf("%d of 8 concurrent Enqueues queued the event, want 1", queued)
	}
	if n := len(list(t, e, meta.StatusPending)); n != 1 {
		t.Errorf("%d pending, want 1", n)
	}
}
