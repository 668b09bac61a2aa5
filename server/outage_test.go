package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/pixelpost/pixelpost/internal/testenv"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/redisledger"
)

// proxiedRedis is a Redis ledger reached through a loopback proxy that the
// test can cut (a Redis outage, or a failover seen from the node).
func proxiedRedis(t *testing.T) (*redisledger.Ledger, *testenv.Proxy) {
	t.Helper()
	opt, err := redis.ParseURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, opt.Addr)
	l, err := redisledger.OpenURL(fmt.Sprintf("redis://%s/%d", proxy.Addr(), opt.DB))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, proxy
}

// secondNode is another pixelpost node on the same ledger, started after
// the harness's node set the account up: it has read nothing yet.
func secondNode(t *testing.T, l storage.Ledger) *harness {
	t.Helper()
	cfg, err := Load([]string{"--admin-token", testToken, "--data-dir", t.TempDir()}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	c := newClock()
	srv, err := New(cfg, Deps{Ledger: l, Log: zerolog.Nop(), Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return &harness{t: t, srv: srv, clock: c}
}

// fetch sends an unauthenticated GET (a tracking endpoint) and returns
// the status, body and headers.
func (h *harness) fetch(path string) (int, string, http.Header) {
	h.t.Helper()
	resp := h.do(httptest.NewRequest("GET", path, nil))
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// Every hit answered while Redis is cut is recorded and decided once Redis
// is back, by the rules it would have met at once; none is refused for
// the outage (ledger_unavailable), not even on a node that had never read
// the account, the network or the lead endpoint the hit needs.
func TestHitsAnsweredDuringLedgerOutageAreDecidedAfterIt(t *testing.T) {
	l, proxy := proxiedRedis(t)
	a := newHarness(t, l, "--allow-private-targets")
	acct := "/accounts/" + a.acct
	a.api("PUT", acct+"/webinars/w1", map[string]any{"name": "Masterclass", "tags": []string{"course"}}, 200)
	campaign := a.s2s(newTrafficSource(t).URL)
	click := a.clickThrough(campaign, "external_id=ext1&zone_id=7")
	const salt = "card-salt"
	a.api("PUT", acct+"/lead-endpoints/card-"+a.acct, map[string]any{"salt": salt}, 200)

	b := secondNode(t, l) // has read nothing of the account
	proxy.Cut()
	// Node a read the campaign more than its cache time ago: it serves
	// the campaign as it last read it.
	a.clock.add(time.Minute)

	pixel := func(node *harness, account, query string) {
		t.Helper()
		resp := node.do(httptest.NewRequest("GET", "/v1/conversion/pixel/"+account+"?"+query, nil))
		assertGIF(t, resp)
	}
	for i := range 5 {
		pixel(b, a.acct, fmt.Sprintf("tag=course&email=c%d@example.com&amount=49.99&orderId=O-%d", i, i))
		pixel(b, a.acct, fmt.Sprintf("tag=course&email=c%d@example.com&amount=49.99&orderId=O-%d", i, i)) // a refresh
	}
	pixel(b, a.acct, "webinarId=w1&amount=2000000&orderId=too-large") // over the account's cap (1,000,000.00 USD)
	pixel(b, "no-such-account", "webinarId=w1&amount=1&orderId=O-x")
	// A tracker's conversion pixel naming the click: its conversion is
	// decided like the pixel, by the click's campaign (which names a
	// network, so the pixel may not convert it).
	pixel(b, a.acct, "cid="+click+"&amount=3&orderId=px-1")
	reg := b.do(httptest.NewRequest("GET", "/v1/attendee/pixel/"+a.acct+"?webinarId=w1&email=r@example.com", nil))
	assertGIF(t, reg)

	if code, body, _ := b.fetch("/v1/postback/" + a.acct + "/net?cid=" + click + "&goal=lead&secret=s3cret"); code != http.StatusAccepted || body != "queued" {
		t.Fatalf("postback during the outage on a node that never read the network: %d %q, want 202 queued", code, body)
	}
	if code, body, _ := b.fetch("/v1/postback/" + a.acct + "/net?cid=" + click + "&goal=other&secret=wrong"); code != http.StatusAccepted {
		t.Fatalf("postback with a bad secret during the outage: %d %q, want 202 queued (checked once the network can be read)", code, body)
	}
	lead := url.Values{"email": {"lead@example.com"}, "name": {"Lee"}, "screen_name": {"@lee"},
		"token": {md5hex("lead@example.com,Lee,@lee," + salt)}}
	if code, body, _ := b.fetch("/v1/leads/card-" + a.acct + "?" + lead.Encode()); code != http.StatusAccepted || !strings.Contains(body, "queued") {
		t.Fatalf("lead during the outage: %d %s, want 202 queued", code, body)
	}
	// A click needs its offer URL now: served from what a node read
	// last, a 503 page only on a node that never read the campaign.
	if code, _, hdr := a.fetch("/c/" + campaign + "?external_id=ext2"); code != http.StatusFound || !strings.HasPrefix(hdr.Get("Location"), "https://offer.example/") {
		t.Fatalf("click during the outage on a node that read the campaign: %d to %q, want a 302 to the offer", code, hdr.Get("Location"))
	}
	if code, _, _ := b.fetch("/c/" + campaign + "?external_id=ext3"); code != http.StatusServiceUnavailable {
		t.Fatalf("click during the outage on a node that never read the campaign: %d, want 503", code)
	}
	code, body, _ := b.fetch("/readyz")
	var ready struct {
		Status string `json:"status"`
	}
	_ = json.Unmarshal([]byte(body), &ready)
	if code != http.StatusOK || ready.Status != "degraded" {
		t.Fatalf("/readyz during the outage: %d %s, want 200 degraded (hits are recorded on disk)", code, body)
	}

	proxy.Restore()
	b.settle()
	a.settle()
	assertStats(t, a.stats("w1"), 5, map[string]any{"USD": "249.95"})
	for _, c := range []struct {
		kind, status, reason string
		want                 uint64
	}{
		{storage.KindPixel, "accepted", "", 5},
		{storage.KindPixel, "duplicate", storage.ReasonSameOrder, 5},
		{storage.KindPixel, "rejected", "amount_too_large", 1},
		{storage.KindPixel, "rejected", storage.ReasonUnknownAccount, 1},
		{storage.KindRegistration, "accepted", "", 1},
		{storage.KindPostback, "accepted", "", 1},
		{storage.KindPostback, "rejected", "bad_secret", 1},
		{storage.KindPostback, "rejected", storage.ReasonPixelConversionsDisabled, 1},
		{storage.KindLead, "accepted", "", 1},
	} {
		if got := b.srv.metrics.count(c.kind, c.status, c.reason); got != c.want {
			t.Errorf("node b: %d %s hits %s/%s, want %d", got, c.kind, c.status, c.reason, c.want)
		}
	}
	for _, kind := range []string{storage.KindPixel, storage.KindRegistration, storage.KindPostback, storage.KindLead} {
		if n := b.srv.metrics.count(kind, "rejected", "ledger_unavailable"); n != 0 {
			t.Errorf("node b: %d %s hits rejected for the outage", n, kind)
		}
	}
	att := a.api("GET", acct+"/attendees/lead@example.com", nil, 200)
	if att["email"] != "lead@example.com" {
		t.Errorf("the lead's attendee: %v", att)
	}
	if code, body, _ := b.fetch("/readyz"); code != http.StatusOK || !strings.Contains(body, `"status":"ready"`) {
		t.Errorf("/readyz after the outage: %d %s, want 200 ready", code, body)
	}
}

// A node whose hits log filled while Redis was cut says so (503
// unavailable, the hits it could not record counted), drains by itself
// once Redis is back (200 degraded meanwhile) and is ready again, taking
// hits as before: nothing stays stuck at the cap.
func TestFullLogNodeDrainsAndIsReadyAgain(t *testing.T) {
	l, proxy := proxiedRedis(t)
	h := newHarnessWith(t, Deps{Ledger: l, ClickHouse: clickHouse(t)}, "--wal-max-bytes", "1048576")
	h.api("PUT", "/accounts/"+h.acct+"/webinars/w1", map[string]any{"name": "W"}, 200)
	h.api("PUT", "/accounts/"+h.acct+"/lead-endpoints/card-"+h.acct, map[string]any{}, 200)
	if code, body, _ := h.fetch("/v1/leads/card-" + h.acct + "?email=warm@example.com"); code != http.StatusOK {
		t.Fatalf("lead before the outage: %d %s", code, body) // the endpoint is read
	}
	h.pixel("webinarId=w1&amount=1&orderId=warm") // the account is read, the rows shipped
	readyz := func() (int, map[string]any) {
		code, body, _ := h.fetch("/readyz")
		m := map[string]any{}
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("/readyz: %v: %s", err, body)
		}
		return code, m
	}

	proxy.Cut()
	sent := 0
	for ; h.srv.metrics.count(storage.KindPixel, "lost", "wal_unavailable") == 0; sent++ {
		if sent > 50000 {
			t.Fatal("the hits log never filled")
		}
		resp := h.do(httptest.NewRequest("GET", fmt.Sprintf("/v1/conversion/pixel/%s?webinarId=w1&amount=1&orderId=o%d&email=c%d@example.com", h.acct, sent, sent), nil))
		assertGIF(t, resp) // a browser still gets its GIF
	}
	if code, m := readyz(); code != http.StatusServiceUnavailable || m["status"] != "unavailable" || m["hits_lost"].(float64) < 1 {
		t.Fatalf("/readyz with the hits log full: %d %v, want 503 unavailable with the hits lost", code, m)
	}
	lost := h.srv.metrics.count(storage.KindPixel, "lost", "wal_unavailable")
	// Those who retry are told: never a 200 for a lead or a postback that
	// was not recorded. (Each carries a long parameter: the log's last
	// few bytes might take a short hit.)
	long := "&note=" + strings.Repeat("x", 1500)
	if code, body, _ := h.fetch("/v1/leads/card-" + h.acct + "?email=full@example.com" + long); code != http.StatusServiceUnavailable {
		t.Errorf("lead with the hits log full: %d %s, want 503", code, body)
	}
	if code, body, _ := h.fetch("/v1/postback/" + h.acct + "?cid=0123456789abcdefghij&payout=1" + long); code != http.StatusServiceUnavailable {
		t.Errorf("postback with the hits log full: %d %s, want 503", code, body)
	}

	proxy.Restore()
	sawDegraded := false
	waitFor(t, "the node to drain and be ready again", func() bool {
		code, m := readyz()
		sawDegraded = sawDegraded || (code == http.StatusOK && m["status"] == "degraded")
		return code == http.StatusOK && m["status"] == "ready"
	})
	h.settle()
	for i := range 20 {
		h.pixel(fmt.Sprintf("webinarId=w1&amount=1&orderId=after%d", i))
	}
	st := h.stats("w1")
	if want := float64(1 + uint64(sent) - lost + 20); st["sales"] != want {
		t.Fatalf("sales %v, want %v: the warm-up, the %d hits recorded of %d sent, and 20 after the drain", st["sales"], want, uint64(sent)-lost, sent)
	}
	t.Logf("%d hits sent into a 1 MiB log, %d lost at its cap; /readyz said degraded while draining: %v", sent, lost, sawDegraded)
}

// A node (re)started while Redis cannot be reached (down, or a cluster
// failing over) starts and takes hits, which wait on disk and are applied
// once Redis answers and its configuration passed the check; it used to
// refuse to start.
func TestNodeStartsWhileRedisIsUnreachable(t *testing.T) {
	opt, err := redis.ParseURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, opt.Addr)
	direct, err := redisledger.OpenURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	acct := uniqueAccount()
	if err := direct.PutAccount(t.Context(), storage.Account{ID: acct, Name: "A", DefaultCurrency: "USD"}); err != nil {
		t.Fatal(err)
	}
	proxy.Cut()
	cfg, err := Load([]string{"--admin-token", testToken, "--data-dir", t.TempDir(),
		"--redis-url", fmt.Sprintf("redis://%s/%d", proxy.Addr(), opt.DB)}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	l, err := OpenLedger(t.Context(), cfg, zerolog.Nop())
	if err != nil {
		t.Fatalf("a node cannot start while redis is unreachable: %v", err)
	}
	defer l.Close()
	h := secondNode(t, l)
	for i := range 3 {
		resp := h.do(httptest.NewRequest("GET", fmt.Sprintf("/v1/conversion/pixel/%s?webinarId=w1&amount=5&orderId=o%d", acct, i), nil))
		assertGIF(t, resp)
	}
	proxy.Restore()
	h.settle()
	st, err := direct.WebinarStats(t.Context(), acct, "w1")
	if err != nil || st.Sales != 3 {
		t.Fatalf("after redis came back: %+v, %v; want the 3 sales answered while it was down", st, err)
	}
}
