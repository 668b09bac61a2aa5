package meta_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/internal/testenv"

	"github.com/pixelpost/pixelpost/storage/meta"
)

// (a) success: the exact payload, the path, fbtrace_id and events_received.
func TestSendSuccess(t *testing.T) {
	for _, code := range []string{"TEST1234", ""} {
		t.Run("test_event_code="+code, func(t *testing.T) {
			e := newEnv(t, testConfig(t), ok, func(d *meta.Dataset) { d.TestEventCode = code })
			now := e.clock.Now()
			evs := append(events(0, 2, "Lead", now.Add(-2*time.Hour)), events(0, 1, "Qualified", now.Add(-time.Hour))...)
			evs[2].LeadEventSource = "HubSpot"
			enqueue(t, e, evs)
			start(t, e.f)
			sent := waitStatus(t, e, meta.StatusSent, 3)
			for _, s := range sent {
				if s.FBTraceID != "TRACE-OK" || s.SentAt.IsZero() || s.Attempts != 1 || s.Error != "" {
					t.Errorf("sent event %+v", s)
				}
			}
			reqs := e.g.requests()
			if len(reqs) != 1 || len(reqs[0].Data) != 3 {
				t.Fatalf("%d requests, want one of 3 events", len(reqs))
			}
			for i, ev := range reqs[0].Data {
				if ev["event_name"] != evs[i].EventName || reqs[0].Leads[i] != evs[i].LeadID ||
					fmt.Sprint(ev["event_time"]) != fmt.Sprint(evs[i].EventTime.Unix()) {
					t.Errorf("event %d sent as %v", i, ev)
				}
				want := "Salesforce"
				if i == 2 {
					want = "HubSpot"
				}
				if src := ev["custom_data"].(map[string]any)["lead_event_source"]; src != want {
					t.Errorf("event %d lead_event_source %v, want %s", i, src, want)
				}
			}
			dg, err := e.f.Diagnostics(context.Background(), testAccount, testDataset, e.clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			if dg.EventsReceivedByMeta != 3 || dg.EventsUploaded != 3 || dg.LastSentAt.IsZero() {
				t.Errorf("diagnostics %+v", dg)
			}
		})
	}
}

// (b) a rate limit stops sending to the dataset at once: no request until
// the backoff ends, then everything pending goes.
func TestRateLimitPausesDataset(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
	}{
		{"http 429", 429, `{"error":{"message":"Too many calls","code":80004,"type":"OAuthException"}}`},
		{"http 429 without body", 429, ``},
		{"400 code 17", 400, graphErr(17, 2446079, "User request limit reached", "")},
		{"400 code 4", 400, graphErr(4, 0, "Application request limit reached", "")},
		{"403 code 32", 403, graphErr(32, 0, "Page request limit reached", "")},
		{"400 code 613", 400, graphErr(613, 0, "Calls to this api have exceeded the rate limit", "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			var mu sync.Mutex
			var attempts []int
			cfg.Backoff = func(n int) time.Duration {
				mu.Lock()
				attempts = append(attempts, n)
				mu.Unlock()
				return time.Hour
			}
			e := newEnv(t, cfg, func(n int, r graphReq) (int, string) {
				if n == 1 {
					return tc.status, tc.body
				}
				return ok(n, r)
			})
			now := e.clock.Now()
			enqueue(t, e, events(0, 3, "Lead", now.Add(-time.Hour)))
			start(t, e.f)
			waitFor(t, "the first request", func() bool { return e.g.count() == 1 })
			waitFor(t, "the pause", func() bool {
				dg, _ := e.f.Diagnostics(context.Background(), testAccount, testDataset, e.clock.Now())
				return !dg.PausedUntil.IsZero()
			})
			// More events while paused: they wait too, and nothing is retried.
			enqueue(t, e, events(10, 2, "Lead", now.Add(-time.Hour)))
			quiet(t, e.g, 500*time.Millisecond)
			pend := list(t, e, meta.StatusPending)
			if len(pend) != 5 {
				t.Fatalf("%d pending, want 5", len(pend))
			}
			for _, p := range pend {
				if p.LeadID < lead(10) && !strings.Contains(p.Error, "rate limited") {
					t.Errorf("pending event error %q, want the rate limit", p.Error)
				}
			}
			dg, _ := e.f.Diagnostics(context.Background(), testAccount, testDataset, e.clock.Now())
			if !contains(dg.Warnings, "paused until") {
				t.Errorf("warnings %q: want the pause", dg.Warnings)
			}
			e.clock.Advance(59 * time.Minute)
			quiet(t, e.g, 400*time.Millisecond)
			e.clock.Advance(2 * time.Minute)
			waitStatus(t, e, meta.StatusSent, 5)
			reqs := e.g.requests()
			if len(reqs) != 2 || len(reqs[1].Data) != 5 {
				t.Fatalf("%d requests, want the limited one then one of 5 events", len(reqs))
			}
			mu.Lock()
			defer mu.Unlock()
			if len(attempts) != 1 || attempts[0] != 1 {
				t.Errorf("Backoff called with %v, want [1]", attempts)
			}
		})
	}
}

// The pause after a rate limit is at least RateLimitWait, whatever Backoff.
func TestRateLimitMinimumWait(t *testing.T) {
	cfg := testConfig(t)
	cfg.RateLimitWait = 10 * time.Minute
	e := newEnv(t, cfg, func(n int, r graphReq) (int, string) {
		if n == 1 {
			return 429, ``
		}
		return ok(n, r)
	})
	enqueue(t, e, events(0, 1, "Lead", e.clock.Now()))
	start(t, e.f)
	waitFor(t, "the first request", func() bool { return e.g.count() == 1 })
	quiet(t, e.g, 300*time.Millisecond)
	e.clock.Advance(11 * time.Minute)
	waitStatus(t, e, meta.StatusSent, 1)
}

// (c) one bad event in a batch of 10: the batch is split until it stands
// alone; the 9 others are delivered once each.
func TestInvalidEventIsolated(t *testing.T) {
	bad := lead(6)
	e := newEnv(t, testConfig(t), func(n int, r graphReq) (int, string) {
		if r.has(bad) {
			return 400, graphErr(100, 2804019, "Invalid parameter", "The lead_id is not a lead of this page")
		}
		return ok(n, r)
	})
	enqueue(t, e, events(0, 10, "Lead", e.clock.Now().Add(-time.Minute)))
	start(t, e.f)
	waitStatus(t, e, meta.StatusSent, 9)
	failed := waitStatus(t, e, meta.StatusFailed, 1)
	if failed[0].LeadID != bad || !strings.Contains(failed[0].Error, "The lead_id is not a lead of this page") ||
		!strings.Contains(failed[0].Error, "code 100") {
		t.Errorf("failed event %+v", failed[0])
	}
	delivered := map[string]int{}
	for _, r := range e.g.requests() {
		if !r.has(bad) {
			for _, l := range r.Leads {
				delivered[l]++
			}
		}
	}
	for i := range 10 {
		if want := map[bool]int{true: 0, false: 1}[lead(i) == bad]; delivered[lead(i)] != want {
			t.Errorf("lead %d delivered %d times, want %d", i, delivered[lead(i)], want)
		}
	}
	// 10 → 5 ok + 5 bad → 2 bad (1 ok + 1 bad) + 3 ok.
	if n := e.g.count(); n != 7 {
		t.Errorf("%d requests, want 7", n)
	}
}

// A 400 that is not about an event fails the batch without splitting it.
func TestOther4xxFails(t *testing.T) {
	e := newEnv(t, testConfig(t), func(int, graphReq) (int, string) {
		return 400, graphErr(190, 463, "Error validating access token: "+testToken+" has expired", "Session expired")
	})
	enqueue(t, e, events(0, 4, "Lead", e.clock.Now()))
	stop := start(t, e.f)
	failed := waitStatus(t, e, meta.StatusFailed, 4)
	quiet(t, e.g, 200*time.Millisecond)
	if n := e.g.count(); n != 1 {
		t.Fatalf("%d requests, want 1 (no retry, no split)", n)
	}
	for _, f := range failed {
		if !strings.Contains(f.Error, "Session expired") || !strings.Contains(f.Error, "code 190") {
			t.Errorf("error %q", f.Error)
		}
		if strings.Contains(f.Error, testToken) {
			t.Errorf("stored error leaks the token: %q", f.Error)
		}
	}
	stop()
	if strings.Contains(e.logs.String(), testToken) {
		t.Errorf("logs leak the token:\n%s", e.logs.String())
	}
	if !strings.Contains(e.logs.String(), "events failed") {
		t.Errorf("the failure is not logged:\n%s", e.logs.String())
	}

	// Fixed token: RetryFailed queues them again.
	e.g.setScript(ok)
	n, err := e.f.RetryFailed(context.Background(), testAccount, testDataset)
	if err != nil || n != 4 {
		t.Fatalf("RetryFailed = %d, %v", n, err)
	}
	start(t, e.f)
	waitStatus(t, e, meta.StatusSent, 4)
}

// (d) a 5xx is retried after the backoff, and so is a timeout.
func TestRetryOn5xxAndTimeout(t *testing.T) {
	t.Run("503", func(t *testing.T) {
		e := newEnv(t, testConfig(t), func(n int, r graphReq) (int, string) {
			if n == 1 {
				return 503, `{"error":{"message":"Service temporarily unavailable","code":2,"type":"OAuthException"}}`
			}
			return ok(n, r)
		})
		enqueue(t, e, events(0, 3, "Lead", e.clock.Now()))
		start(t, e.f)
		sent := waitStatus(t, e, meta.StatusSent, 3)
		reqs := e.g.requests()
		if len(reqs) != 2 || fmt.Sprint(reqs[0].Leads) != fmt.Sprint(reqs[1].Leads) {
			t.Fatalf("requests %v, want the same batch twice", reqs)
		}
		for _, s := range sent {
			if s.Attempts != 2 || s.Error != "" {
				t.Errorf("sent event %+v", s)
			}
		}
	})
	t.Run("timeout", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.Timeout = 200 * time.Millisecond
		e := newEnv(t, cfg, func(n int, r graphReq) (int, string) {
			if n == 1 {
				time.Sleep(600 * time.Millisecond)
			}
			return ok(n, r)
		})
		enqueue(t, e, events(0, 2, "Lead", e.clock.Now()))
		start(t, e.f)
		waitStatus(t, e, meta.StatusSent, 2)
		if n := e.g.count(); n < 2 {
			t.Errorf("%d requests, want the timed-out one and a retry", n)
		}
	})
}

// (e) 2500 events go as 1000 + 1000 + 500.
func TestBatchesOf1000(t *testing.T) {
	e := newEnv(t, testConfig(t), ok)
	enqueue(t, e, events(0, 2500, "Lead", e.clock.Now().Add(-time.Minute)))
	start(t, e.f)
	waitStatus(t, e, meta.StatusSent, 2500)
	var sizes []int
	seen := map[string]bool{}
	for _, r := range e.g.requests() {
		sizes = append(sizes, len(r.Data))
		for _, l := range r.Leads {
			if seen[l] {
				t.Errorf("lead %s sent twice", l)
			}
			seen[l] = true
		}
	}
	if fmt.Sprint(sizes) != "[1000 1000 500]" {
		t.Errorf("batch sizes %v, want [1000 1000 500]", sizes)
	}
}

// An event still pending when its event_time reaches MaxAge fails with that
// reason, unsent: Meta would refuse it.
func TestTooOldPendingFails(t *testing.T) {
	e := newEnv(t, testConfig(t), ok)
	now := e.clock.Now()
	enqueue(t, e, events(0, 2, "Lead", now.Add(-6*24*time.Hour-23*time.Hour)))
	enqueue(t, e, events(5, 1, "Lead", now.Add(-time.Hour)))
	dg, err := e.f.Diagnostics(context.Background(), testAccount, testDataset, now)
	if err != nil {
		t.Fatal(err)
	}
	if !contains(dg.Warnings, "2 events are over 6 days old and not sent: Meta refuses events older than 7 days") {
		t.Errorf("warnings %q", dg.Warnings)
	}
	e.clock.Advance(2 * time.Hour)
	start(t, e.f)
	failed := waitStatus(t, e, meta.StatusFailed, 2)
	waitStatus(t, e, meta.StatusSent, 1)
	for _, f := range failed {
		if !strings.Contains(f.Error, "Meta refuses older events") || f.Attempts != 0 {
			t.Errorf("failed event %+v", f)
		}
	}
	for _, r := range e.g.requests() {
		if r.has(lead(0)) || r.has(lead(1)) {
			t.Errorf("a too-old event was sent")
		}
	}
}

// The SSRF guard: a private graph_base is refused at PutDataset, and a name
// resolving to loopback is refused when dialled.
func TestSSRFGuard(t *testing.T) {
	cfg := testConfig(t)
	cfg.AllowPrivateTargets = false
	e := &env{g: newGraph(t, ok), clock: testenv.NewClock(), logs: &logBuf{}}
	e.f = open(t, cfg, e.deps())
	d := meta.Dataset{ID: testDataset, Account: testAccount, AccessToken: testToken, GraphBase: e.g.srv.URL}
	if err := e.f.PutDataset(context.Background(), d); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("PutDataset(%s) = %v, want a loopback refusal", d.GraphBase, err)
	}
	d.GraphBase = strings.Replace(e.g.srv.URL, "127.0.0.1", "localhost", 1)
	d.LeadEventSource = "Salesforce"
	if err := e.f.PutDataset(context.Background(), d); err != nil {
		t.Fatalf("PutDataset(%s): %v", d.GraphBase, err)
	}
	enqueue(t, e, events(0, 1, "Lead", e.clock.Now()))
	start(t, e.f)
	failed := waitStatus(t, e, meta.StatusFailed, 1)
	if !strings.Contains(failed[0].Error, "loopback") {
		t.Errorf("error %q", failed[0].Error)
	}
	if n := e.g.count(); n != 0 {
		t.Errorf("%d requests reached the loopback server", n)
	}
}

func TestRunOnce(t *testing.T) {
	e := newEnv(t, testConfig(t), ok)
	start(t, e.f)
	time.Sleep(20 * time.Millisecond)
	if err := e.f.Run(context.Background()); err != meta.ErrRunning {
		t.Errorf("second Run = %v, want ErrRunning", err)
	}
}
