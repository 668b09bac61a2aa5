package server

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
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

func md5hex(s string) string { sum := md5.Sum([]byte(s)); return hex.EncodeToString(sum[:]) }

// A lead-generation card posts name, email and screen name with hidden
// fields and an MD5 token; the lead is answered 200, upserts the profile
// and reaches the CRM webhook.
func TestLeadCardWithTokenReachesTheCRM(t *testing.T) {
	h := newHarness(t, embeddedLedger(t), "--allow-private-targets")
	const secret = "webhook-secret-0123456789"
	crm := newCRMReceiver(t, secret)
	a := "/accounts/" + h.acct
	h.api("PUT", a+"/webhooks/crm", map[string]any{"url": crm.URL, "secret": secret, "events": []string{"lead"}}, 200)
	ep := "card-" + h.acct
	const salt = "4sq12z_1j#2mfs"
	h.api("PUT", a+"/lead-endpoints/"+ep, map[string]any{"salt": salt}, 200)

	post := func(form url.Values) (int, string) {
		req := httptest.NewRequest("POST", "/v1/leads/"+ep, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp := h.do(req)
		b, _ := io.ReadAll(resp.Body)
		h.settle()
		return resp.StatusCode, string(b)
	}
	form := url.Values{"name": {"Jane Doe, Jr."}, "email": {"Jane@Example.com"}, "screen_name": {"@jane_doé"},
		"source": {"TWITTER"}, "campaign": {"spring"}}
	form.Set("token", md5hex("Jane@Example.com,Jane Doe, Jr.,@jane_doé,"+salt))
	if code, body := post(form); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("lead: %d %s", code, body)
	}
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("token", md5hex("Jane@Example.com,Jane Doe, Jr.,@jane_doé,wrong-salt"))
	if code, body := post(bad); code != 403 || !strings.Contains(body, "bad_token") {
		t.Errorf("wrong salt: %d %s", code, body)
	}
	noEmail := url.Values{"name": {"X"}, "token": {md5hex("X," + salt)}}
	if code, body := post(noEmail); code != 400 || !strings.Contains(body, "missing_email") {
		t.Errorf("no email: %d %s", code, body)
	}
	tooMany := url.Values{"email": {"m@example.com"}}
	for i := range 11 {
		tooMany.Set(fmt.Sprint("h", i), "v")
	}
	tooMany.Set("token", md5hex("m@example.com,"+salt))
	if code, body := post(tooMany); code != 400 || !strings.Contains(body, "too_many_hidden") {
		t.Errorf("11 hidden fields: %d %s", code, body)
	}

	waitFor(t, "the lead webhook", func() bool { b, _ := crm.received(); return len(b) == 1 })
	bodies, _ := crm.received()
	d := bodies[0]["data"].(map[string]any)
	prof := d["profile"].(map[string]any)
	if bodies[0]["event"] != "lead" || d["email"] != "jane@example.com" || prof["name"] != "Jane Doe, Jr." || prof["hidden.source"] != "TWITTER" {
		t.Errorf("lead webhook %v", bodies[0])
	}
	p, err := h.srv.ledger.Profile(t.Context(), h.acct, h.api("GET", a+"/attendees/jane@example.com", nil, 200)["attendee_id"].(string))
	if err != nil || p["screen_name"] != "@jane_doé" {
		t.Errorf("profile %v, %v", p, err)
	}
}

// fakeGraph is Meta's Graph API on loopback: it checks each event's shape
// and keeps them.
type fakeGraph struct {
	*httptest.Server
	mu     sync.Mutex
	events []map[string]any
	bad    []string
}

func newFakeGraph(t *testing.T, dataset string) *fakeGraph {
	g := &fakeGraph{}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		if r.URL.Path != "/v21.0/"+dataset+"/events" {
			g.bad = append(g.bad, "path "+r.URL.Path)
		}
		var body struct {
			Data         []map[string]any `json:"data"`
			PartnerAgent string           `json:"partner_agent"`
		}
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil || body.PartnerAgent == "" {
			g.bad = append(g.bad, fmt.Sprintf("body: %v, partner_agent %q", err, body.PartnerAgent))
		}
		for _, e := range body.Data {
			cd, _ := e["custom_data"].(map[string]any)
			if e["action_source"] != "system_generated" || cd["event_source"] != "crm" || cd["lead_event_source"] != "HubSpot" {
				g.bad = append(g.bad, fmt.Sprintf("event %v", e))
			}
			g.events = append(g.events, e)
		}
		fmt.Fprintf(w, `{"events_received": %d, "fbtrace_id": "x"}`, len(body.Data))
	}))
	t.Cleanup(g.Close)
	return g
}

// A CRM posts lead stages: the valid ones reach Meta once each, the
// invalid ones are answered with their reasons.
func TestCRMEventsReachMeta(t *testing.T) {
	h := newHarness(t, embeddedLedger(t), "--allow-private-targets")
	const dataset = "123456789012345"
	graph := newFakeGraph(t, dataset)
	a := "/accounts/" + h.acct
	ds := h.api("PUT", a+"/meta-datasets/"+dataset, map[string]any{"access_token": "EAAB-secret-token-1234",
		"api_version": "v21.0", "partner_agent": "pixelpost", "graph_base": graph.URL, "lead_event_source": "HubSpot"}, 200)
	if strings.Contains(fmt.Sprint(ds), "secret-token") {
		t.Errorf("the access token is shown: %v", ds)
	}
	src := "crm-" + h.acct
	h.api("PUT", a+"/crm-sources/"+src, map[string]any{"preset": "zapier", "lead_event_source": "HubSpot",
		"dataset_id": dataset, "secret": "crm-secret-0123456789"}, 200)

	now := h.clock.now()
	body := fmt.Sprintf(`[
		{"lead_id": 123456789012345678, "stage": "raw_lead", "timestamp": %d},
		{"lead_id": "12345678901234567", "stage": "raw_lead", "timestamp": %d},
		{"lead_id": "12345678901234567", "stage": "qualified", "timestamp": %d},
		{"lead_id": "123", "stage": "raw_lead", "timestamp": %d},
		{"lead_id": "12345678901234567", "stage": "", "timestamp": %d},
		{"lead_id": "12345678901234568", "stage": "raw_lead", "timestamp": %d}
	]`, now.Unix(), now.Unix()-60, now.Unix(), now.Unix(), now.Unix(), now.Add(-8*24*time.Hour).Unix())
	send := func(secret string) (int, map[string]any) {
		req := httptest.NewRequest("POST", "/v1/crm/"+src+"/events", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Pixelpost-Secret", secret)
		resp := h.do(req)
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		h.settle()
		return resp.StatusCode, out
	}
	if code, _ := send("guess"); code != 403 {
		t.Errorf("wrong secret: %d", code)
	}
	code, out := send("crm-secret-0123456789")
	if code != 200 || out["accepted"] != 2.0 {
		t.Fatalf("events: %d %v", code, out)
	}
	reasons := map[string]bool{}
	for _, e := range out["events"].([]any) {
		reasons[fmt.Sprint(e.(map[string]any)["reason"])] = true
	}
	for _, want := range []string{"bad_lead_id", "missing_stage", "too_old"} {
		if !reasons[want] {
			t.Errorf("no event rejected for %s: %v", want, out["events"])
		}
	}
	// The same events again: duplicates, nothing sent twice.
	if _, again := send("crm-secret-0123456789"); again["accepted"] != 0.0 {
		t.Errorf("second send accepted %v", again["accepted"])
	}
	waitFor(t, "Meta to receive the events", func() bool {
		h.clock.add(time.Second) // the forwarder waits FlushDelay by the server's clock
		graph.mu.Lock()
		defer graph.mu.Unlock()
		return len(graph.events) >= 2
	})
	time.Sleep(200 * time.Millisecond)
	graph.mu.Lock()
	n, bad := len(graph.events), graph.bad
	graph.mu.Unlock()
	if n != 2 || len(bad) > 0 {
		t.Errorf("Meta received %d events (want 2), problems %v", n, bad)
	}
	diag := h.api("GET", a+"/meta-datasets/"+dataset+"/diagnostics", nil, 200)
	if diag["stage_count"] != 2.0 || diag["raw_stage"] != "raw_lead" {
		t.Errorf("diagnostics %v", diag)
	}
	_ = storage.KindCRM
}
