package outbox_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/internal/testenv"

	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/outbox"
)

// A 503 is retried; the next attempt succeeds; the receiver gets the
// method, headers and body; every attempt is recorded and reported.
func TestRetriesAfter503ThenDelivers(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, "busy, come back")
			return
		}
		fmt.Fprint(w, "ok")
	})
	var res results
	o := open(t, testConfig(t), outbox.Deps{OnResult: res.hook})
	start(t, o)

	body := []byte(`{"event":"sale","value":12.5}`)
	id := enqueue(t, o, outbox.Delivery{
		Account: "acct", Kind: outbox.KindWebhook, Key: "order-1",
		Method: "POST", URL: rc.url("/hook?x=1"),
		Headers: map[string]string{"Content-Type": "application/json", "X-Signature": "t=1,v1=abc"},
		Body:    body,
	})
	d := waitFor(t, o, "acct", id, outbox.StatusDelivered)

	reqs := rc.requests()
	if len(reqs) != 2 {
		t.Fatalf("receiver got %d requests, want 2", len(reqs))
	}
	for i, r := range reqs {
		if r.Method != "POST" || r.Path != "/hook" || string(r.Body) != string(body) ||
			r.Header.Get("Content-Type") != "application/json" || r.Header.Get("X-Signature") != "t=1,v1=abc" ||
			!strings.HasPrefix(r.Header.Get("User-Agent"), "pixelpost") {
			t.Errorf("request %d = %+v", i, r)
		}
	}
	if d.AttemptCount != 2 || len(d.Attempts) != 2 {
		t.Fatalf("attempts = %d %+v, want 2", d.AttemptCount, d.Attempts)
	}
	a0, a1 := d.Attempts[0], d.Attempts[1]
	if a0.Status != 503 || a0.Error != "HTTP 503" || a0.Response != "busy, come back" || a0.At.IsZero() || a0.Duration <= 0 {
		t.Errorf("first attempt = %+v", a0)
	}
	if a1.Status != 200 || a1.Error != "" || a1.Response != "ok" {
		t.Errorf("second attempt = %+v", a1)
	}
	if !d.NextAt.IsZero() || d.Kind != outbox.KindWebhook || d.Key != "order-1" || d.CreatedAt.IsZero() {
		t.Errorf("delivery = %+v", d)
	}

	calls := res.all()
	if len(calls) != 2 || calls[0].Final || !calls[1].Final || calls[1].D.Status != outbox.StatusDelivered ||
		calls[0].A.Status != 503 || calls[1].A.Status != 200 {
		t.Errorf("OnResult calls = %+v", calls)
	}
	if s := o.Stats(); s.Delivered != 1 || s.Pending != 0 || s.Failed != 0 || s.Attempts != 2 || s.InFlight != 0 {
		t.Errorf("Stats = %+v", s)
	}
}

// 429 and every 5xx are retried.
func TestRetryableStatuses(t *testing.T) {
	codes := []int{429, 500, 502, 504}
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= len(codes) {
			w.WriteHeader(codes[n-1])
		}
	})
	o := open(t, testConfig(t), outbox.Deps{})
	start(t, o)
	id := enqueue(t, o, outbox.Delivery{Account: "acct", Kind: outbox.KindPostback, URL: rc.url("/pb")})
	d := waitFor(t, o, "acct", id, outbox.StatusDelivered)
	if len(d.Attempts) != len(codes)+1 {
		t.Fatalf("attempts = %+v", d.Attempts)
	}
	for i, c := range codes {
		if d.Attempts[i].Status != c {
			t.Errorf("attempt %d status %d, want %d", i, d.Attempts[i].Status, c)
		}
	}
	if r := rc.requests()[0]; r.Method != "GET" {
		t.Errorf("method without body = %s, want GET", r.Method)
	}
}

// Other 4xx and 3xx are final: one attempt, failed, never retried. A
// redirect is not followed and its Location is recorded.
func TestFinalAnswersAreNotRetried(t *testing.T) {
	for _, tc := range []struct {
		code    int
		wantErr string
	}{
		{400, "HTTP 400"},
		{401, "HTTP 401"},
		{404, "HTTP 404"},
		{410, "HTTP 410"},
		{302, `redirect 302 to "http://elsewhere.example/x" not followed`},
		{307, `redirect 307 to "http://elsewhere.example/x" not followed`},
	} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Location", "http://elsewhere.example/x")
				w.WriteHeader(tc.code)
				fmt.Fprint(w, "nope")
			})
			var res results
			o := open(t, testConfig(t), outbox.Deps{OnResult: res.hook})
			start(t, o)
			id := enqueue(t, o, outbox.Delivery{Account: "acct", Kind: outbox.KindPostback, URL: rc.url("/pb")})
			d := waitFor(t, o, "acct", id, outbox.StatusFailed)
			time.Sleep(50 * time.Millisecond) // 10 backoffs: a retry would have happened
			if n := rc.count(); n != 1 {
				t.Errorf("receiver got %d requests, want 1", n)
			}
			if len(d.Attempts) != 1 || d.Attempts[0].Status != tc.code || d.Attempts[0].Error != tc.wantErr {
				t.Errorf("attempts = %+v", d.Attempts)
			}
			if calls := res.all(); len(calls) != 1 || !calls[0].Final {
				t.Errorf("OnResult calls = %+v", calls)
			}
			if s := o.Stats(); s.Failed != 1 || s.Pending != 0 || s.Attempts != 1 {
				t.Errorf("Stats = %+v", s)
			}
		})
	}
}

// An attempt that outlives Config.Timeout is cut and retried.
func TestTimeoutIsRetried(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		fmt.Fprint(w, "ok")
	})
	cfg := testConfig(t)
	cfg.Timeout = 100 * time.Millisecond
	o := open(t, cfg, outbox.Deps{})
	start(t, o)
	id := enqueue(t, o, outbox.Delivery{Account: "acct", Kind: outbox.KindMeta, URL: rc.url("/events"), Body: []byte("{}")})
	d := waitFor(t, o, "acct", id, outbox.StatusDelivered)
	if len(d.Attempts) != 2 {
		t.Fatalf("attempts = %+v", d.Attempts)
	}
	if a := d.Attempts[0]; a.Status != 0 || a.Error != "timeout after 100ms" || a.Duration < 100*time.Millisecond || a.Duration > 2*time.Second {
		t.Errorf("first attempt = %+v", a)
	}
}

// Past MaxAge after creation, a retryable failure is final.
func TestGivesUpAfterMaxAge(t *testing.T) {
	clk := testenv.NewClock()
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 3 {
			clk.Advance(25 * time.Hour)
		}
		w.WriteHeader(http.StatusBadGateway)
	})
	cfg := testConfig(t)
	cfg.MaxAge = 24 * time.Hour
	var res results
	o := open(t, cfg, outbox.Deps{Now: clk.Now, OnResult: res.hook})
	start(t, o)
	id := enqueue(t, o, outbox.Delivery{Account: "acct", Kind: outbox.KindPostback, URL: rc.url("/pb")})
	d := waitFor(t, o, "acct", id, outbox.StatusFailed)
	time.Sleep(50 * time.Millisecond)
	if n := rc.count(); n != 3 {
		t.Errorf("receiver got %d requests, want 3", n)
	}
	if len(d.Attempts) != 3 || d.Attempts[2].Error != "HTTP 502; giving up after 24h0m0s" {
		t.Errorf("attempts = %+v", d.Attempts)
	}
	calls := res.all()
	if len(calls) != 3 || calls[1].Final || !calls[2].Final || calls[2].A.Error != d.Attempts[2].Error {
		t.Errorf("OnResult calls = %+v", calls)
	}
}

// The next retry is never scheduled past the MaxAge deadline: the default
// backoff of an hour is clamped so the last try happens at the deadline.
func TestRetryNotScheduledPastMaxAge(t *testing.T) {
	clk := testenv.NewClock()
	rc := newReceiver(t, status(http.StatusServiceUnavailable))
	cfg := testConfig(t)
	cfg.MaxAge = time.Minute
	cfg.Backoff = func(int) time.Duration { return time.Hour }
	o := open(t, cfg, outbox.Deps{Now: clk.Now})
	stop := start(t, o)
	id := enqueue(t, o, outbox.Delivery{Account: "acct", Kind: outbox.KindPostback, URL: rc.url("/pb")})
	var d outbox.Delivery
	waitUntil(t, "first attempt", func() bool {
		d, _ = o.Get(t.Context(), "acct", id)
		return d.AttemptCount == 1
	})
	stop()
	if want := d.CreatedAt.Add(time.Minute); d.Status != outbox.StatusPending || !d.NextAt.Equal(want) {
		t.Errorf("after one 503: status %s next %v, want pending at %v", d.Status, d.NextAt, want)
	}
}

// The same Key enqueued many times, concurrently, and after delivery, gives
// one delivery and one request. A Key is scoped by account and kind, and a
// failed delivery's Key can be taken over by a new one.
func TestDuplicateKeyDeliversOnce(t *testing.T) {
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			w.WriteHeader(http.StatusBadRequest)
		}
	})
	o := open(t, testConfig(t), outbox.Deps{})
	stop := start(t, o)
	d := outbox.Delivery{Account: "acct", Kind: outbox.KindPostback, Key: "conv-42", URL: rc.url("/ok")}

	ids := make([]string, 20)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			id, err := o.Enqueue(t.Context(), d)
			if err != nil {
				t.Errorf("Enqueue: %v", err)
			}
			ids[i] = id
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("ids differ: %v", ids)
		}
	}
	waitFor(t, o, "acct", ids[0], outbox.StatusDelivered)
	if again := enqueue(t, o, d); again != ids[0] {
		t.Errorf("Enqueue after delivery = %s, want %s", again, ids[0])
	}
	time.Sleep(50 * time.Millisecond)
	if n := rc.count(); n != 1 {
		t.Errorf("receiver got %d requests, want 1", n)
	}
	if s := o.Stats(); s.Delivered != 1 || s.Pending != 0 {
		t.Errorf("Stats = %+v", s)
	}

	other := d
	other.Kind = outbox.KindWebhook
	if id := enqueue(t, o, other); id == ids[0] {
		t.Error("the same Key of another kind was deduplicated")
	}
	other = d
	other.Account = "acct2"
	if id := enqueue(t, o, other); id == ids[0] {
		t.Error("the same Key of another account was deduplicated")
	}

	bad := outbox.Delivery{Account: "acct", Kind: outbox.KindPostback, Key: "conv-43", URL: rc.url("/bad")}
	first := enqueue(t, o, bad)
	waitFor(t, o, "acct", first, outbox.StatusFailed)
	stop()
	second := enqueue(t, o, bad)
	if second == first {
		t.Fatal("a failed delivery's Key was not taken over")
	}
	if err := o.Retry(t.Context(), "acct", first); !errors.Is(err, outbox.ErrConflict) {
		t.Errorf("Retry of a delivery whose Key was taken over = %v, want ErrConflict", err)
	}
}

// A failed delivery retried by hand is attempted again, with a fresh
// window, and delivered.
func TestManualRetry(t *testing.T) {
	var mu sync.Mutex
	code := http.StatusForbidden
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.WriteHeader(code)
	})
	clk := testenv.NewClock()
	o := open(t, testConfig(t), outbox.Deps{Now: clk.Now})
	start(t, o)
	id := enqueue(t, o, outbox.Delivery{Account: "acct", Kind: outbox.KindPostback, Key: "k", URL: rc.url("/pb")})
	waitFor(t, o, "acct", id, outbox.StatusFailed)
	if s := o.Stats(); s.Failed != 1 {
		t.Errorf("Stats = %+v", s)
	}

	mu.Lock()
	code = http.StatusOK
	mu.Unlock()
	clk.Advance(48 * time.Hour) // past MaxAge: Retry opens a new window
	if err := o.Retry(t.Context(), "acct", id); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	d := waitFor(t, o, "acct", id, outbox.StatusDelivered)
	if len(d.Attempts) != 2 || d.Attempts[0].Status != 403 || d.Attempts[1].Status != 200 || d.RetriedAt.IsZero() {
		t.Errorf("delivery = %+v", d)
	}
	if s := o.Stats(); s.Failed != 0 || s.Delivered != 1 || s.Pending != 0 {
		t.Errorf("Stats = %+v", s)
	}

	if err := o.Retry(t.Context(), "acct", id); !errors.Is(err, outbox.ErrConflict) {
		t.Errorf("Retry of a delivered delivery = %v, want ErrConflict", err)
	}
	for _, tc := range []struct{ account, id string }{{"other", id}, {"acct", "nope"}} {
		if err := o.Retry(t.Context(), tc.account, tc.id); !errors.Is(err, outbox.ErrNotFound) || !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Retry(%s, %s) = %v, want ErrNotFound", tc.account, tc.id, err)
		}
		if _, err := o.Get(t.Context(), tc.account, tc.id); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get(%s, %s) = %v, want ErrNotFound", tc.account, tc.id, err)
		}
	}
}

// Many concurrent Enqueues (sharing commits) are each delivered once.
func TestConcurrentEnqueues(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	rc := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Query().Get("k")]++
		mu.Unlock()
	})
	o := open(t, testConfig(t), outbox.Deps{})
	start(t, o)
	const n = 200
	var wg sync.WaitGroup
	for g := range 10 {
		wg.Go(func() {
			for i := range n / 10 {
				k := fmt.Sprintf("%d-%d", g, i)
				if _, err := o.Enqueue(t.Context(), outbox.Delivery{Account: "acct", Kind: outbox.KindPostback,
					Key: k, URL: rc.url("/pb?k=" + k)}); err != nil {
					t.Errorf("Enqueue: %v", err)
				}
			}
		})
	}
	wg.Wait()
	waitUntil(t, "all delivered", func() bool { return o.Stats().Delivered == n })
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != n {
		t.Errorf("receiver saw %d keys, want %d", len(seen), n)
	}
	for k, c := range seen {
		if c != 1 {
			t.Errorf("key %s delivered %d times", k, c)
		}
	}
}

func TestEnqueueRejectsMalformed(t *testing.T) {
	o := open(t, testConfig(t), outbox.Deps{})
	ok := outbox.Delivery{Account: "acct", Kind: outbox.KindPostback, URL: "http://example.com/"}
	for name, mod := range map[string]func(d *outbox.Delivery){
		"no account":   func(d *outbox.Delivery) { d.Account = "" },
		"unknown kind": func(d *outbox.Delivery) { d.Kind = "sms" },
		"no url":       func(d *outbox.Delivery) { d.URL = "" },
		"long key":     func(d *outbox.Delivery) { d.Key = strings.Repeat("k", 2000) },
		"bad method":   func(d *outbox.Delivery) { d.Method = "GET X" },
		"huge body":    func(d *outbox.Delivery) { d.Body = make([]byte, outbox.DefaultMaxBodyBytes+1) },
	} {
		d := ok
		mod(&d)
		if _, err := o.Enqueue(t.Context(), d); !errors.Is(err, outbox.ErrInvalid) {
			t.Errorf("%s: Enqueue = %v, want ErrInvalid", name, err)
		}
	}
	if s := o.Stats(); s.Pending != 0 {
		t.Errorf("Stats = %+v", s)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Enqueue(t.Context(), ok); !errors.Is(err, outbox.ErrClosed) {
		t.Errorf("Enqueue after Close = %v, want ErrClosed", err)
	}
	if err := o.Run(t.Context()); !errors.Is(err, outbox.ErrClosed) {
		t.Errorf("Run after Close = %v, want ErrClosed", err)
	}
}

func TestOpenValidatesConfig(t *testing.T) {
	_, err := outbox.Open(outbox.Config{Workers: -1, Timeout: -time.Second}, outbox.Deps{})
	if err == nil {
		t.Fatal("Open accepted a bad config")
	}
	for _, want := range []string{"Dir is required", "Workers must not be negative", "Timeout must not be negative"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not report %q", err, want)
		}
	}
}
