package server

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/storage"
)

// trafficSource is a fake traffic source on loopback: it answers 503 to
// its first postback, then 200, and keeps the queries it received.
type trafficSource struct {
	*httptest.Server
	mu      sync.Mutex
	queries []url.Values
	calls   int
}

func newTrafficSource(t *testing.T) *trafficSource {
	ts := &trafficSource{}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		ts.calls++
		if ts.calls == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		ts.queries = append(ts.queries, r.URL.Query())
		io.WriteString(w, "ok")
	}))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *trafficSource) received() []url.Values {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]url.Values(nil), ts.queries...)
}

// s2s sets up a source, a network with a secret and a campaign.
func (h *harness) s2s(sourceURL string) (campaign string) {
	h.t.Helper()
	a := "/accounts/" + h.acct
	h.api("PUT", a+"/sources/exo", map[string]any{
		"postback_url":   sourceURL + "/tag.php?goal=g1&tag={external_id}&value={payout}&st={status}",
		"correction_url": sourceURL + "/fix.php?tag={external_id}&status={status}&value={payout}",
	}, 200)
	h.api("PUT", a+"/networks/net", map[string]any{"preset": "generic", "secret": "s3cret"}, 200)
	campaign = "camp-" + h.acct
	h.api("PUT", a+"/campaigns/"+campaign, map[string]any{
		"source_id": "exo", "network_id": "net", "offer_url": "https://offer.example/?s1={clickid}&z={zone_id}",
		"goals": map[string]any{"lead": map[string]any{"type": "fixed", "value": "2.00"}},
	}, 200)
	return campaign
}

// clickThrough follows a campaign link and returns the click id.
func (h *harness) clickThrough(campaign, query string) string {
	h.t.Helper()
	resp := h.do(httptest.NewRequest("GET", "/c/"+campaign+"?"+query, nil))
	if resp.StatusCode != http.StatusFound {
		h.t.Fatalf("click: status %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Host != "offer.example" {
		h.t.Fatalf("click redirected to %q", resp.Header.Get("Location"))
	}
	cid := loc.Query().Get("s1")
	var cookie string
	for _, c := range resp.Cookies() {
		if c.Name == clickCookie {
			cookie = c.Value
		}
	}
	if cid == "" || cookie != cid {
		h.t.Fatalf("click id %q, cookie %q", cid, cookie)
	}
	h.settle()
	return cid
}

// postback sends a postback and returns its status and body.
func (h *harness) postback(path string) (int, string) {
	h.t.Helper()
	resp := h.do(httptest.NewRequest("GET", path, nil))
	b, _ := io.ReadAll(resp.Body)
	h.settle()
	return resp.StatusCode, string(b)
}

func TestS2SClickPostbackAndOutboundPostback(t *testing.T) {
	ledgers(t, func(t *testing.T, l storage.Ledger) {
		h := newHarness(t, l, "--allow-private-targets")
		src := newTrafficSource(t)
		camp := h.s2s(src.URL)
		cid := h.clickThrough(camp, "external_id=EXT%201&zone_id=42&cost=0.002")
		pb := fmt.Sprintf("/v1/postback/%s/net?cid=%s&payout=5.50&txid=T1&secret=s3cret", h.acct, cid)

		if code, body := h.postback(pb); code != 200 || body != "ok" {
			t.Fatalf("postback: %d %q", code, body)
		}
		if code, body := h.postback(pb); code != 200 || body != "duplicate" {
			t.Fatalf("repeated postback: %d %q", code, body)
		}
		cases := []struct{ name, path, body string }{
			{"wrong secret", strings.Replace(pb, "s3cret", "guess", 1), "error=bad_secret"},
			{"unknown click", strings.Replace(pb, cid, "0000000000000000000000000a", 1), "error=unknown_click"},
			{"bad payout", strings.Replace(pb, "5.50", "1e3", 1), "error=bad_payout"},
			{"unknown network", strings.Replace(pb, "/net?", "/nonet?", 1), "error=unknown_network"},
		}
		for _, tc := range cases {
			if code, body := h.postback(tc.path); code < 400 || body != tc.body {
				t.Errorf("%s: %d %q, want 4xx %q", tc.name, code, body, tc.body)
			}
		}
		// The source gets one postback, after a 503, with the click's macros.
		waitFor(t, "the outbound postback", func() bool { return len(src.received()) == 1 })
		got := src.received()[0]
		if got.Get("tag") != "EXT 1" || got.Get("value") != "5.50" || got.Get("goal") != "g1" || got.Get("st") != "approved" {
			t.Errorf("source received %v", got)
		}
		var ds []any
		waitFor(t, "the delivery to be recorded", func() bool {
			ds = h.api("GET", "/accounts/"+h.acct+"/deliveries?status=delivered", nil, 200)["deliveries"].([]any)
			return len(ds) > 0
		})
		if len(ds) != 1 || ds[0].(map[string]any)["attempt_count"] != 2.0 {
			t.Errorf("deliveries = %v, want one delivered after 2 attempts", ds)
		}

		// A chargeback of the announced conversion: a correction.
		cb := strings.Replace(pb, "txid=T1", "txid=T1&status=chargeback", 1)
		if code, body := h.postback(cb); code != 200 || body != "ok" {
			t.Fatalf("chargeback: %d %q", code, body)
		}
		waitFor(t, "the correction", func() bool { return len(src.received()) == 2 })
		if got := src.received()[1]; got.Get("status") != "chargeback" || got.Get("tag") != "EXT 1" {
			t.Errorf("correction %v", got)
		}
		// Chargeback is final.
		if code, body := h.postback(pb); code != 409 || body != "error=bad_transition" {
			t.Errorf("approve after chargeback: %d %q", code, body)
		}

		// A fixed goal is worth its configured value whatever the payout.
		lead := fmt.Sprintf("/v1/postback/%s/net?cid=%s&payout=99&goal=lead&secret=s3cret", h.acct, cid)
		if code, body := h.postback(lead); code != 200 || body != "ok" {
			t.Fatalf("lead: %d %q", code, body)
		}
		waitFor(t, "the lead's postback", func() bool { return len(src.received()) == 3 })
		if v := src.received()[2].Get("value"); v != "2.00" {
			t.Errorf("lead announced with value %q, want the goal's 2.00", v)
		}

		// The click window: 30 days.
		h.clock.add(31 * 24 * time.Hour)
		late := fmt.Sprintf("/v1/postback/%s/net?cid=%s&txid=T9&secret=s3cret", h.acct, cid)
		if code, body := h.postback(late); code != 404 || body != "error=expired_click" {
			t.Errorf("late postback: %d %q", code, body)
		}
	})
}

func TestClickOnUnknownCampaignIsNotARedirect(t *testing.T) {
	h := newHarness(t, embeddedLedger(t))
	for _, path := range []string{
		"/c/nosuchcampaign?url=https://evil.example/",
		"/c/%2F%2Fevil.example",
		"/c/camp?offer_url=https://evil.example/",
	} {
		resp := h.do(httptest.NewRequest("GET", path, nil))
		if resp.StatusCode != 404 || resp.Header.Get("Location") != "" {
			t.Errorf("%s: %d, Location %q; want a 404 page", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

func TestPostbackIPAllowListBehindTrustedProxy(t *testing.T) {
	h := newHarness(t, embeddedLedger(t), "--allow-private-targets", "--trusted-proxies", "0.0.0.0/0")
	camp := h.s2s("http://127.0.0.1:9")
	h.api("PUT", "/accounts/"+h.acct+"/networks/net", map[string]any{"preset": "generic", "allow_ips": []string{"203.0.113.0/24"}}, 200)
	cid := h.clickThrough(camp, "external_id=E")
	send := func(xff string) (int, string) {
		req := httptest.NewRequest("GET", fmt.Sprintf("/v1/postback/%s/net?cid=%s&payout=1", h.acct, cid), nil)
		req.Header.Set("X-Forwarded-For", xff)
		resp := h.do(req)
		b, _ := io.ReadAll(resp.Body)
		h.settle()
		return resp.StatusCode, string(b)
	}
	if code, body := send("198.51.100.7"); code != 403 || body != "error=ip_not_allowed" {
		t.Errorf("outside the allow-list: %d %q", code, body)
	}
	if code, body := send("203.0.113.9"); code != 200 || body != "ok" {
		t.Errorf("inside the allow-list: %d %q", code, body)
	}
}

func TestOutboundTemplateToPrivateAddressRefused(t *testing.T) {
	h := newHarness(t, embeddedLedger(t))
	for _, u := range []string{"http://127.0.0.1/pb", "http://[::1]/pb", "http://169.254.169.254/latest", "ftp://example.com/x"} {
		h.api("PUT", "/accounts/"+h.acct+"/sources/s", map[string]any{"postback_url": u}, 400)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second) // generous: CI machines are loaded
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A tracker's thank-you page fires the conversion pixel with the click id
// (or relies on the pp_cid cookie): the click's conversion, announced.
func TestConversionPixelWithClickID(t *testing.T) {
	h := newHarness(t, embeddedLedger(t), "--allow-private-targets")
	src := newTrafficSource(t)
	camp := h.s2s(src.URL)
	h.allowPixelConversions(camp)
	cid := h.clickThrough(camp, "external_id=PX")
	h.pixel("cid=" + cid + "&amount=30&orderId=O-1")
	waitFor(t, "the outbound postback", func() bool { return len(src.received()) == 1 })
	if got := src.received()[0]; got.Get("tag") != "PX" || got.Get("value") != "30.00" {
		t.Errorf("source received %v", got)
	}
	// The cookie alone, and the same order again: one conversion.
	req := httptest.NewRequest("GET", "/v1/conversion/pixel/"+h.acct+"?amount=30&orderId=O-1", nil)
	req.AddCookie(&http.Cookie{Name: clickCookie, Value: cid})
	h.pixelReq(req)
	if n := h.srv.metrics.count(storage.KindPostback, "duplicate", storage.ReasonSameConversion); n != 1 {
		t.Errorf("repeated pixel: %d duplicate conversions counted, want 1", n)
	}
}

// What GET answers for a campaign can be sent back as it is.
func TestCampaignRoundTrip(t *testing.T) {
	h := newHarness(t, embeddedLedger(t), "--allow-private-targets")
	camp := h.s2s("http://127.0.0.1:9")
	path := "/accounts/" + h.acct + "/campaigns/" + camp
	before := h.api("GET", path, nil, 200)
	after := h.api("PUT", path, before, 200)
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("campaign changed by a round trip:\n%v\n%v", before, after)
	}
}

// allowPixelConversions turns pixel_conversions on for a campaign.
func (h *harness) allowPixelConversions(campaign string) {
	h.t.Helper()
	path := "/accounts/" + h.acct + "/campaigns/" + campaign
	doc := h.api("GET", path, nil, 200)
	doc["pixel_conversions"] = true
	if got := h.api("PUT", path, doc, 200); got["pixel_conversions"] != true {
		h.t.Fatalf("campaign answered pixel_conversions %v, want true", got["pixel_conversions"])
	}
}

// A click id is in the offer URL and the pp_cid cookie: whoever sees it
// must not be able to credit, re-price or charge back its conversion
// through any path but its campaign's network's (issue 12, item 1).
func TestPostbackOnlyThroughTheClicksNetwork(t *testing.T) {
	ledgers(t, func(t *testing.T, l storage.Ledger) {
		h := newHarness(t, l, "--allow-private-targets")
		src := newTrafficSource(t)
		camp := h.s2s(src.URL) // network "net", secret s3cret
		h.api("PUT", "/accounts/"+h.acct+"/networks/other", map[string]any{"preset": "generic", "secret": "0ther"}, 200)
		cid := h.clickThrough(camp, "external_id=EXT")

		forged := []struct{ name, path string }{
			{"account-level path", fmt.Sprintf("/v1/postback/%s?cid=%s&payout=5000&txid=T1&status=approved", h.acct, cid)},
			{"another network with its secret", fmt.Sprintf("/v1/postback/%s/other?cid=%s&payout=5000&txid=T1&secret=0ther", h.acct, cid)},
		}
		for _, f := range forged {
			if code, body := h.postback(f.path); code != 403 || body != "error=wrong_network" {
				t.Errorf("%s: %d %q, want 403 error=wrong_network", f.name, code, body)
			}
		}
		if n := h.srv.metrics.count(storage.KindPostback, string(storage.StatusAccepted), ""); n != 0 {
			t.Fatalf("%d conversions recorded by forged postbacks, want none", n)
		}

		// The network's own postback is then the conversion's first
		// sighting, at its payout: nothing of the forged ones stuck.
		pb := fmt.Sprintf("/v1/postback/%s/net?cid=%s&payout=5.50&txid=T1&secret=s3cret", h.acct, cid)
		if code, body := h.postback(pb); code != 200 || body != "ok" {
			t.Fatalf("the network's postback: %d %q", code, body)
		}
		if n := h.srv.metrics.count(storage.KindPostback, string(storage.StatusAccepted), ""); n != 1 {
			t.Fatalf("%d conversions accepted, want the network's one", n)
		}
		// Nor can another path charge it back.
		chargeback := fmt.Sprintf("/v1/postback/%s?cid=%s&payout=5.50&txid=T1&status=chargeback", h.acct, cid)
		if code, body := h.postback(chargeback); code != 403 || body != "error=wrong_network" {
			t.Errorf("account-level chargeback: %d %q, want 403 error=wrong_network", code, body)
		}
		if code, body := h.postback(pb); code != 200 || body != "duplicate" {
			t.Errorf("the network's postback again: %d %q, want duplicate (still approved at 5.50)", code, body)
		}
		waitFor(t, "the network conversion's outbound postback", func() bool { return len(src.received()) >= 1 })
		for _, got := range src.received() {
			if got.Get("value") != "5.50" || got.Get("st") != "approved" {
				t.Errorf("source received %v, want only the network's approved 5.50", got)
			}
		}
		if n := h.srv.metrics.count(storage.KindPostback, string(storage.StatusRejected), storage.ReasonWrongNetwork); n != 3 {
			t.Errorf("%d postbacks rejected wrong_network, want 3", n)
		}
	})
}

// A campaign without a network is converted through the account-level
// path (and no network's path).
func TestAccountPathServesClicksOfCampaignsWithoutNetwork(t *testing.T) {
	ledgers(t, func(t *testing.T, l storage.Ledger) {
		h := newHarness(t, l, "--allow-private-targets")
		h.s2s("http://127.0.0.1:9") // creates network "net"
		camp := "plain-" + h.acct
		doc := h.api("PUT", "/accounts/"+h.acct+"/campaigns/"+camp, map[string]any{"offer_url": "https://offer.example/?s1={clickid}"}, 200)
		if doc["pixel_conversions"] != true {
			t.Errorf("campaign without network: pixel_conversions %v, want true", doc["pixel_conversions"])
		}
		cid := h.clickThrough(camp, "external_id=E")
		if code, body := h.postback(fmt.Sprintf("/v1/postback/%s/net?cid=%s&payout=2&secret=s3cret", h.acct, cid)); code != 403 || body != "error=wrong_network" {
			t.Errorf("through a network's path: %d %q, want 403 error=wrong_network", code, body)
		}
		if code, body := h.postback(fmt.Sprintf("/v1/postback/%s?cid=%s&payout=2", h.acct, cid)); code != 200 || body != "ok" {
			t.Errorf("through the account-level path: %d %q, want ok", code, body)
		}
	})
}

// A browser cannot hold a secret: the conversion pixel converts a click of
// a campaign with a network only when the campaign says so. Refused, it
// still answers the GIF and records why.
func TestConversionPixelRefusedUnlessCampaignAllows(t *testing.T) {
	h := newHarness(t, embeddedLedger(t), "--allow-private-targets")
	camp := h.s2s("http://127.0.0.1:9")
	if doc := h.api("GET", "/accounts/"+h.acct+"/campaigns/"+camp, nil, 200); doc["pixel_conversions"] != false {
		t.Errorf("campaign with a network: pixel_conversions %v, want false", doc["pixel_conversions"])
	}
	cid := h.clickThrough(camp, "external_id=PX")
	h.pixel("cid=" + cid + "&amount=30&orderId=O-1") // checks the GIF
	req := httptest.NewRequest("GET", "/v1/conversion/pixel/"+h.acct+"?amount=30&orderId=O-2", nil)
	req.AddCookie(&http.Cookie{Name: clickCookie, Value: cid})
	h.pixelReq(req)
	if n := h.srv.metrics.count(storage.KindPostback, string(storage.StatusRejected), storage.ReasonPixelConversionsDisabled); n != 2 {
		t.Errorf("%d pixel conversions rejected pixel_conversions_disabled, want 2 (cid and cookie)", n)
	}
	if n := h.srv.metrics.count(storage.KindPostback, string(storage.StatusAccepted), ""); n != 0 {
		t.Errorf("%d conversions accepted from the pixel, want none", n)
	}
	// The network's postback still converts the click.
	pb := fmt.Sprintf("/v1/postback/%s/net?cid=%s&payout=1&txid=O-1&secret=s3cret", h.acct, cid)
	if code, body := h.postback(pb); code != 200 || body != "ok" {
		t.Errorf("the network's postback: %d %q", code, body)
	}
}

// A campaign saved by an earlier build has no pixel_conversions field:
// its answer shows the default its clicks get.
func TestCampaignOfEarlierBuildShowsPixelDefault(t *testing.T) {
	h := newHarness(t, embeddedLedger(t))
	for id, want := range map[string]bool{"old-net-" + h.acct: false, "old-plain-" + h.acct: true} {
		doc := `{"offer_url":"https://offer.example/?s1={clickid}"}`
		if !want {
			doc = `{"network_id":"net","offer_url":"https://offer.example/?s1={clickid}"}`
		}
		if err := h.srv.ledger.PutConfig(t.Context(), h.acct, storage.ConfigCampaign, id, []byte(doc)); err != nil {
			t.Fatal(err)
		}
		if got := h.api("GET", "/accounts/"+h.acct+"/campaigns/"+id, nil, 200); got["pixel_conversions"] != want {
			t.Errorf("campaign %s stored without the field: pixel_conversions %v, want %v", id, got["pixel_conversions"], want)
		}
	}
}
