package server

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Networks, lead endpoints and CRM sources switched off refuse what they
// receive with 403 and a reason, record it as rejected, and change
// nothing; switched on again, they take it.
func TestDisabledObjectsRefuseTheirTraffic(t *testing.T) {
	h := newHarness(t, embeddedLedger(t), "--allow-private-targets")
	a := "/accounts/" + h.acct
	camp := h.s2s("http://127.0.0.1:9")
	cid := h.clickThrough(camp, "external_id=ext1&zoneid=7")
	ep, src := "card-"+h.acct, "crm-"+h.acct
	send := func(method, path, contentType, body string) (int, string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp := h.do(req)
		b, _ := io.ReadAll(resp.Body)
		h.settle()
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		name       string
		put        func(on bool) // stores the object with its switch
		send       func() (int, string)
		reason     string
		okWhenOn   string // in the answer once switched on
		nothingYet func() string
	}{{
		name: "network",
		put: func(on bool) {
			h.api("PUT", a+"/networks/net", map[string]any{"preset": "generic", "secret": "s3cret", "enabled": on}, 200)
		},
		send: func() (int, string) {
			return send("GET", "/v1/postback/"+h.acct+"/net?cid="+cid+"&payout=3.00&txid=t1&status=approved&secret=s3cret", "", "")
		},
		reason: "network_disabled", okWhenOn: "ok",
		nothingYet: func() string {
			if cs := h.api("GET", a+"/logs/conversions?campaign="+camp, nil, 200)["conversions"].([]any); len(cs) > 0 {
				return fmt.Sprintf("conversions %v", cs)
			}
			return ""
		},
	}, {
		name: "lead endpoint",
		put:  func(on bool) { h.api("PUT", a+"/lead-endpoints/"+ep, map[string]any{"enabled": on}, 200) },
		send: func() (int, string) {
			return send("POST", "/v1/leads/"+ep, "application/x-www-form-urlencoded", "name=Jane&email=jane%40example.com")
		},
		reason: "endpoint_disabled", okWhenOn: `"ok"`,
		nothingYet: func() string {
			for _, l := range h.api("GET", a+"/logs/leads", nil, 200)["leads"].([]any) {
				if l.(map[string]any)["status"] != "rejected" {
					return fmt.Sprintf("lead taken: %v", l)
				}
			}
			return ""
		},
	}, {
		name: "CRM source",
		put: func(on bool) {
			h.api("PUT", a+"/crm-sources/"+src, map[string]any{"preset": "zapier", "lead_event_source": "HubSpot", "enabled": on}, 200)
		},
		send: func() (int, string) {
			return send("POST", "/v1/crm/"+src+"/events", "application/json",
				fmt.Sprintf(`{"lead_id": "12345678901234567", "stage": "raw_lead", "timestamp": %d}`, h.clock.now().Unix()))
		},
		reason: "source_disabled", okWhenOn: `"accepted":1`,
		nothingYet: func() string { return "" }, // the answer says it: no event listed
	}} {
		// Not subtests: the harness fails the test it was built with.
		func() {
			tc.put(false)
			code, body := tc.send()
			if code != 403 || !strings.Contains(body, tc.reason) {
				t.Errorf("%s switched off: %d %q, want 403 %s", tc.name, code, body, tc.reason)
				return
			}
			if s := fmt.Sprint(h.api("GET", a+"/hits/rejected", nil, 200)); !strings.Contains(s, tc.reason) {
				t.Errorf("%s: the refusal is not recorded as rejected with %s: %s", tc.name, tc.reason, s)
			}
			if got := tc.nothingYet(); got != "" {
				t.Errorf("%s switched off, yet: %s", tc.name, got)
			}
			if doc := h.api("GET", a+"/"+map[string]string{"network": "networks/net", "lead endpoint": "lead-endpoints/" + ep,
				"CRM source": "crm-sources/" + src}[tc.name], nil, 200); doc["enabled"] != false {
				t.Errorf("%s: stored enabled = %v, want false", tc.name, doc["enabled"])
			}
			tc.put(true)
			if code, body := tc.send(); code != 200 || !strings.Contains(body, tc.okWhenOn) {
				t.Errorf("%s switched on again: %d %q, want 200 %s", tc.name, code, body, tc.okWhenOn)
			}
		}()
	}
}

// A Meta dataset switched off sends nothing: its events stay queued and go
// when it is switched on again.
func TestDisabledMetaDatasetKeepsEventsQueued(t *testing.T) {
	h := newHarness(t, embeddedLedger(t), "--allow-private-targets")
	const dataset = "123456789012345"
	graph := newFakeGraph(t, dataset)
	a := "/accounts/" + h.acct
	putDataset := func(on bool) {
		ds := h.api("PUT", a+"/meta-datasets/"+dataset, map[string]any{"access_token": "EAAB-secret-token-1234",
			"api_version": "v21.0", "graph_base": graph.URL, "lead_event_source": "HubSpot", "enabled": on}, 200)
		if ds["enabled"] != on {
			t.Fatalf("dataset answered enabled = %v, want %v", ds["enabled"], on)
		}
	}
	putDataset(false)
	src := "crm-" + h.acct
	h.api("PUT", a+"/crm-sources/"+src, map[string]any{"preset": "zapier", "lead_event_source": "HubSpot", "dataset_id": dataset}, 200)
	req := httptest.NewRequest("POST", "/v1/crm/"+src+"/events", strings.NewReader(fmt.Sprintf(
		`[{"lead_id": "12345678901234567", "stage": "raw_lead", "timestamp": %d}, {"lead_id": "12345678901234567", "stage": "qualified", "timestamp": %d}]`,
		h.clock.now().Unix(), h.clock.now().Unix())))
	req.Header.Set("Content-Type", "application/json")
	if resp := h.do(req); resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("events to a switched-off dataset: %d %s, want 200 (queued)", resp.StatusCode, b)
	}
	sent := func() int {
		graph.mu.Lock()
		defer graph.mu.Unlock()
		return len(graph.events)
	}
	// Well past FlushDelay by the server's clock, and long enough by the
	// wall clock for the forwarder to have sent had it been on.
	for range 50 {
		h.clock.add(time.Second)
		time.Sleep(20 * time.Millisecond)
	}
	if n := sent(); n != 0 {
		t.Fatalf("a switched-off dataset sent %d events to Meta", n)
	}
	if d := h.api("GET", a+"/meta-datasets/"+dataset+"/diagnostics", nil, 200); d["events_pending"] != 2.0 {
		t.Errorf("events not kept queued: %v pending", d["events_pending"])
	}
	putDataset(true)
	waitFor(t, "Meta to receive the queued events once the dataset is on", func() bool {
		h.clock.add(time.Second)
		return sent() >= 2
	})
}
