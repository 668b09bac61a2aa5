package outbox_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pixelpost/pixelpost/storage/outbox"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// received is a request as the fake receiver saw it.
type received struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// receiver is a fake target on loopback: handle gets the 1-based number of
// the request and answers it.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []received
	handle func(n int, w http.ResponseWriter, r *http.Request)
}

func newReceiver(t *testing.T, handle func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{handle: handle}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, received{r.Method, r.URL.Path, r.Header.Clone(), body})
	n := len(rc.reqs)
	rc.mu.Unlock()
	rc.handle(n, w, r)
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.reqs...)
}

func (rc *receiver) count() int { return len(rc.requests()) }

func (rc *receiver) url(path string) string { return rc.srv.URL + path }

// status answers every request with code.
func status(code int) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// fastBackoff retries after a few milliseconds.
func fastBackoff(int) time.Duration { return 5 * time.Millisecond }

// testConfig is a Config for loopback receivers with fast retries.
func testConfig(t *testing.T) outbox.Config {
	return outbox.Config{
		Dir:                 t.TempDir(),
		Workers:             4,
		Timeout:             2 * time.Second,
		Backoff:             fastBackoff,
		AllowPrivateTargets: true,
	}
}

// open opens an outbox closed at the end of the test.
func open(t *testing.T, cfg outbox.Config, deps outbox.Deps) *outbox.Outbox {
	t.Helper()
	o, err := outbox.Open(cfg, deps)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// start runs o until the returned stop is called (or the test ends); stop
// waits for Run to return and fails the test if it took long.
func start(t *testing.T, o *outbox.Outbox) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(3 * time.Second):
				t.Errorf("Run did not stop within 3s")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func enqueue(t *testing.T, o *outbox.Outbox, d outbox.Delivery) string {
	t.Helper()
	id, err := o.Enqueue(t.Context(), d)
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	return id
}

// waitFor polls until the delivery is in state status and returns it; for
// a final state, it also waits for the workers to be idle, so that Stats and
// OnResult have caught up.
func waitFor(t *testing.T, o *outbox.Outbox, account, id, status string) outbox.Delivery {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := o.Get(t.Context(), account, id)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if d.Status == status {
			// A final state is committed before the worker reports it
			// (counters, OnResult) and leaves the in-flight set.
			if status != outbox.StatusPending {
				waitUntil(t, "workers idle", func() bool { return o.Stats().InFlight == 0 })
			}
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s is %s after 10s, want %s; attempts %+v", id, d.Status, status, d.Attempts)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitUntil polls cond for up to 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// results records OnResult calls.
type results struct {
	mu    sync.Mutex
	calls []result
}

type result struct {
	D     outbox.Delivery
	A     outbox.Attempt
	Final bool
}

func (r *results) hook(d outbox.Delivery, a outbox.Attempt, final bool) {
	r.mu.Lock()
	r.calls = append(r.calls, result{d, a, final})
	r.mu.Unlock()
}

func (r *results) all() []result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]result(nil), r.calls...)
}
