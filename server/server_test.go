package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/pixelpost/pixelpost/internal/testenv"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/embedded"
	"github.com/pixelpost/pixelpost/storage/redisledger"
)

const testToken = "test-admin-token-0123456789"

// clock is a pinned, advanceable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock               { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }
func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// uniqueAccount keeps tests apart on a shared Redis.
func uniqueAccount() string { return "t" + strings.ToLower(newCookieID()[:12]) }

func jsonBody(v any) io.Reader { b, _ := json.Marshal(v); return strings.NewReader(string(b)) }

type harness struct {
	t     *testing.T
	srv   *Server
	clock *clock
	acct  string
}

// ledgers runs fn against every ledger this machine has: the embedded one
// always, Redis and Redis Cluster when the test script started them.
func ledgers(t *testing.T, fn func(t *testing.T, l storage.Ledger)) {
	t.Run("embedded", func(t *testing.T) {
		l, err := embedded.Open(t.TempDir()+"/ledger.db", embedded.Config{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		fn(t, l)
	})
	t.Run("redis", func(t *testing.T) {
		l, err := redisledger.OpenURL(testenv.Redis(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		fn(t, l)
	})
	t.Run("cluster", func(t *testing.T) {
		l, err := redisledger.OpenCluster(testenv.RedisCluster(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		fn(t, l)
	})
}

func newHarness(t *testing.T, l storage.Ledger, flags ...string) *harness {
	t.Helper()
	return newHarnessWith(t, Deps{Ledger: l}, flags...)
}

// newHarnessWith builds the server on deps (a ledger, maybe ClickHouse).
func newHarnessWith(t *testing.T, deps Deps, flags ...string) *harness {
	t.Helper()
	args := []string{"--admin-token", testToken, "--data-dir", t.TempDir()}
	if deps.ClickHouse != nil {
		// Rows reach ClickHouse within 50 ms, not 5 s: the tests wait for them.
		args = append(args, "--clickhouse-batch-delay", "50ms")
	}
	args = append(args, flags...)
	cfg, err := Load(args, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	c := newClock()
	deps.Log, deps.Now = zerolog.Nop(), c.now
	srv, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	h := &harness{t: t, srv: srv, clock: c, acct: uniqueAccount()}
	h.api("PUT", "/accounts/"+h.acct, map[string]any{"name": "Test", "default_currency": "USD"}, 200)
	return h
}

// settle waits until the ledger has applied every hit recorded so far.
func (h *harness) settle() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := h.srv.Settle(ctx); err != nil {
		h.t.Fatalf("hits not applied: %v", err)
	}
}

// do sends a request through the Fiber app.
func (h *harness) do(req *http.Request) *http.Response {
	h.t.Helper()
	resp, err := h.srv.Handler().Test(req, -1)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp
}

// api calls the admin API and decodes the JSON answer after checking status.
func (h *harness) api(method, path string, body any, want int) map[string]any {
	h.t.Helper()
	var r io.Reader
	if body != nil {
		r = jsonBody(body)
	}
	req := httptest.NewRequest(method, "/api/v1"+path, r)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	resp := h.do(req)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		h.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	out := map[string]any{}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &out); err != nil {
			h.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return out
}

// pixel fires the conversion pixel and checks the GIF answer.
func (h *harness) pixel(query string) {
	h.t.Helper()
	h.pixelReq(httptest.NewRequest("GET", "/v1/conversion/pixel/"+h.acct+"?"+query, nil))
}

func (h *harness) pixelReq(req *http.Request) *http.Response {
	h.t.Helper()
	resp := h.do(req)
	assertGIF(h.t, resp)
	h.settle()
	return resp
}

func assertGIF(t *testing.T, resp *http.Response) {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("pixel status %d, want 200", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "image/gif" {
		t.Fatalf("pixel content type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != noStore {
		t.Fatalf("pixel cache control %q", cc)
	}
	if resp.Request == nil || resp.Request.Method != "HEAD" {
		if len(body) != 43 || string(body[:6]) != "GIF89a" {
			t.Fatalf("pixel body is %d bytes %q, want the 43-byte GIF", len(body), body)
		}
	}
}

func (h *harness) stats(webinar string) map[string]any {
	h.t.Helper()
	return h.api("GET", "/accounts/"+h.acct+"/webinars/"+webinar+"/stats", nil, 200)
}

func assertStats(t *testing.T, got map[string]any, sales float64, revenue map[string]any) {
	t.Helper()
	if got["sales"] != sales {
		t.Errorf("sales = %v, want %v (stats %v)", got["sales"], sales, got)
	}
	rev, _ := got["revenue"].(map[string]any)
	if len(rev) != len(revenue) {
		t.Errorf("revenue = %v, want %v", rev, revenue)
	}
	for k, v := range revenue {
		if rev[k] != v {
			t.Errorf("revenue[%s] = %v, want %v", k, rev[k], v)
		}
	}
}

func TestServeShutsDownCleanly(t *testing.T) {
	l, err := embedded.Open(t.TempDir()+"/ledger.db", embedded.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg, err := Load([]string{"--admin-token", testToken, "--listen", "127.0.0.1:0"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, Deps{Ledger: l, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := listenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String()
	var resp *http.Response
	for i := 0; i < 100; i++ {
		if resp, err = http.Get(url + "/healthz"); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", err, resp)
	}
	resp.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve returned %v after cancel, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}

func embeddedLedger(t *testing.T) storage.Ledger {
	t.Helper()
	l, err := embedded.Open(t.TempDir()+"/ledger.db", embedded.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}
