package meta_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/internal/testenv"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/pixelpost/pixelpost/storage/meta"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	testToken   = "EAAGtesttokenSECRET1234"
	testDataset = "123456789012345"
	testAccount = "acme"
	testAgent   = "pixelpost-test"
)

// graphReq is one request as the fake Graph API saw it.
type graphReq struct {
	Path  string
	Query string
	Top   map[string]any   // the body's top-level fields (decoded with UseNumber)
	Data  []map[string]any // its events
	Leads []string         // user_data.lead_id of each event
}

// has says whether the request carries an event of lead.
func (r graphReq) has(lead string) bool { return slices.Contains(r.Leads, lead) }

// fakeGraph is a Graph API on loopback. It checks the path and the exact
// shape of every request, then answers with script(n, req), n counting
// from 1: status and body.
type fakeGraph struct {
	t      *testing.T
	srv    *httptest.Server
	want   meta.Dataset // what each request must carry
	mu     sync.Mutex
	reqs   []graphReq
	script func(n int, r graphReq) (int, string)
}

func newGraph(t *testing.T, script func(n int, r graphReq) (int, string)) *fakeGraph {
	t.Helper()
	g := &fakeGraph{t: t, script: script}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

// ok answers 200 as Meta does.
func ok(_ int, r graphReq) (int, string) {
	return 200, fmt.Sprintf(`{"events_received":%d,"messages":[],"fbtrace_id":"TRACE-OK"}`, len(r.Data))
}

// graphErr is a Graph API error body.
func graphErr(code, subcode int, msg, userMsg string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"message": msg, "type": "OAuthException", "code": code, "error_subcode": subcode,
		"error_user_title": "Bad event", "error_user_msg": userMsg, "fbtrace_id": "TRACE-ERR",
	}})
	return string(b)
}

var reLead = regexp.MustCompile(`^[1-9][0-9]{14,16}$`)

func (g *fakeGraph) serve(w http.ResponseWriter, r *http.Request) {
	t := g.t
	raw, _ := io.ReadAll(r.Body)
	req := graphReq{Path: r.URL.Path, Query: r.URL.RawQuery}
	want := "/v21.0/" + g.want.ID + "/events"
	if r.Method != http.MethodPost || r.URL.Path != want {
		t.Errorf("request %s %s, want POST %s", r.Method, r.URL.Path, want)
	}
	if r.URL.RawQuery != "" {
		t.Errorf("query string %q: the access token belongs in the body", r.URL.RawQuery)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&req.Top); err != nil {
		t.Errorf("body is not JSON: %v", err)
	}
	wantTop := []string{"access_token", "data", "partner_agent"}
	if g.want.TestEventCode != "" {
		wantTop = append(wantTop, "test_event_code")
	}
	if got := keys(req.Top); !slices.Equal(got, wantTop) {
		t.Errorf("top-level fields %v, want %v", got, wantTop)
	}
	if req.Top["access_token"] != g.want.AccessToken || req.Top["partner_agent"] != g.want.PartnerAgent {
		t.Errorf("access_token/partner_agent %v/%v", req.Top["access_token"], req.Top["partner_agent"])
	}
	if g.want.TestEventCode != "" && req.Top["test_event_code"] != g.want.TestEventCode {
		t.Errorf("test_event_code %v", req.Top["test_event_code"])
	}
	data, _ := req.Top["data"].([]any)
	if len(data) == 0 || len(data) > meta.MaxBatch {
		t.Errorf("batch of %d events", len(data))
	}
	for _, e := range data {
		ev, _ := e.(map[string]any)
		req.Data = append(req.Data, ev)
		if got := keys(ev); !slices.Equal(got, []string{"action_source", "custom_data", "event_name", "event_time", "user_data"}) {
			t.Errorf("event fields %v", got)
		}
		if ev["action_source"] != "system_generated" {
			t.Errorf("action_source %v", ev["action_source"])
		}
		if n, isNum := ev["event_time"].(json.Number); !isNum || !regexp.MustCompile(`^[0-9]{10}$`).MatchString(string(n)) {
			t.Errorf("event_time %#v is not unix seconds", ev["event_time"])
		}
		if s, _ := ev["event_name"].(string); s == "" {
			t.Errorf("event_name %#v", ev["event_name"])
		}
		ud, _ := ev["user_data"].(map[string]any)
		lead, isNum := ud["lead_id"].(json.Number)
		if got := keys(ud); !slices.Equal(got, []string{"lead_id"}) || !isNum || !reLead.MatchString(string(lead)) {
			t.Errorf("user_data %#v: want exactly a lead_id JSON number", ud)
		}
		req.Leads = append(req.Leads, string(lead))
		cd, _ := ev["custom_data"].(map[string]any)
		if got := keys(cd); !slices.Equal(got, []string{"event_source", "lead_event_source"}) ||
			cd["event_source"] != "crm" || cd["lead_event_source"] == "" {
			t.Errorf("custom_data %#v", cd)
		}
	}
	g.mu.Lock()
	g.reqs = append(g.reqs, req)
	n := len(g.reqs)
	script := g.script
	g.mu.Unlock()
	status, body := script(n, req)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (g *fakeGraph) requests() []graphReq {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.reqs)
}

func (g *fakeGraph) setScript(s func(int, graphReq) (int, string)) {
	g.mu.Lock()
	g.script = s
	g.mu.Unlock()
}

func (g *fakeGraph) count() int { return len(g.requests()) }

// fastBackoff retries after a few milliseconds.
func fastBackoff(int) time.Duration { return 5 * time.Millisecond }

func testConfig(t *testing.T) meta.Config {
	return meta.Config{
		Dir:                 t.TempDir(),
		AllowPrivateTargets: true,
		Timeout:             2 * time.Second,
		Backoff:             fastBackoff,
		FlushDelay:          10 * time.Millisecond,
		NoSync:              true, // fsync is slow on a loaded CI disk; TestRestart syncs
	}
}

// logBuf collects the forwarder's logs.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// env is a forwarder with a dataset pointed at a fake Graph API.
type env struct {
	f     *meta.Forwarder
	g     *fakeGraph
	clock *testenv.Clock
	logs  *logBuf
	cfg   meta.Config
}

func newEnv(t *testing.T, cfg meta.Config, script func(int, graphReq) (int, string), mod ...func(*meta.Dataset)) *env {
	t.Helper()
	e := &env{g: newGraph(t, script), clock: testenv.NewClock(), logs: &logBuf{}, cfg: cfg}
	e.f = open(t, cfg, e.deps())
	d := meta.Dataset{
		ID: testDataset, Account: testAccount, AccessToken: testToken, APIVersion: "v21.0",
		PartnerAgent: testAgent, GraphBase: e.g.srv.URL, LeadEventSource: "Salesforce",
	}
	for _, m := range mod {
		m(&d)
	}
	e.g.want = d
	if err := e.f.PutDataset(context.Background(), d); err != nil {
		t.Fatalf("PutDataset: %v", err)
	}
	return e
}

func (e *env) deps() meta.Deps {
	return meta.Deps{Log: zerolog.New(e.logs), Now: e.clock.Now}
}

func open(t *testing.T, cfg meta.Config, deps meta.Deps) *meta.Forwarder {
	t.Helper()
	f, err := meta.Open(cfg, deps)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// start runs f until the returned stop is called (or the test ends).
func start(t *testing.T, f *meta.Forwarder) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("Run did not stop within 5s")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// lead is the i-th test lead id: 16 digits.
func lead(i int) string { return fmt.Sprintf("%d", 1_000_000_000_000_000+i) }

// events makes n events of stage at time at, for leads from..from+n-1.
func events(from, n int, stage string, at time.Time) []meta.Event {
	out := make([]meta.Event, n)
	for i := range out {
		out[i] = meta.Event{LeadID: lead(from + i), EventName: stage, EventTime: at}
	}
	return out
}

func enqueue(t *testing.T, e *env, evs []meta.Event) []meta.EnqueueResult {
	t.Helper()
	res, err := e.f.Enqueue(context.Background(), testAccount, testDataset, evs)
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if len(res) != len(evs) {
		t.Fatalf("Enqueue: %d results for %d events", len(res), len(evs))
	}
	return res
}

func list(t *testing.T, e *env, status string) []meta.StoredEvent {
	t.Helper()
	var all []meta.StoredEvent
	for {
		evs, more, err := e.f.EventsPage(context.Background(), testAccount, testDataset, status, len(all), meta.MaxEventsPage)
		if err != nil {
			t.Fatalf("Events(%q): %v", status, err)
		}
		all = append(all, evs...)
		if !more {
			return all
		}
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitStatus waits until n events have status.
func waitStatus(t *testing.T, e *env, status string, n int) []meta.StoredEvent {
	t.Helper()
	var evs []meta.StoredEvent
	waitFor(t, fmt.Sprintf("%d %s events", n, status), func() bool {
		evs = list(t, e, status)
		return len(evs) >= n
	})
	if len(evs) != n {
		t.Fatalf("%d %s events, want %d", len(evs), status, n)
	}
	return evs
}

// quiet asserts that the fake sees no new request for d.
func quiet(t *testing.T, g *fakeGraph, d time.Duration) {
	t.Helper()
	before := g.count()
	time.Sleep(d)
	if n := g.count(); n != before {
		t.Fatalf("%d requests reached the server during the pause", n-before)
	}
}

func contains(list []string, sub string) bool {
	return slices.ContainsFunc(list, func(s string) bool { return strings.Contains(s, sub) })
}
