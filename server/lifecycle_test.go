package server

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/pixelpost/pixelpost/storage"
)

// Every kind of configuration can be deleted; what it recorded stays
// (issue 12, item 10).
func TestConfigurationCanBeDeleted(t *testing.T) {
	ledgers(t, func(t *testing.T, l storage.Ledger) {
		h := newHarness(t, l, "--allow-private-targets")
		a := "/accounts/" + h.acct
		camp := h.s2s("http://127.0.0.1:9")
		cid := h.clickThrough(camp, "external_id=E1")
		h.api("PUT", a+"/webhooks/crm", map[string]any{"url": "http://127.0.0.1:9/hook", "secret": "webhook-secret-0123456789"}, 200)
		h.api("PUT", a+"/lead-endpoints/card-"+h.acct, map[string]any{}, 200)
		h.api("PUT", a+"/meta-datasets/123456789012345", map[string]any{"access_token": "EAAB-secret-token-1234", "graph_base": "http://127.0.0.1:9"}, 200)
		h.api("PUT", a+"/crm-sources/crm-"+h.acct, map[string]any{"preset": "generic", "dataset_id": "123456789012345"}, 200)
		if got := h.api("GET", a+"/meta-datasets", nil, 200); got["123456789012345"] == nil {
			t.Errorf("GET meta-datasets: %v", got)
		}

		for _, path := range []string{
			"/campaigns/" + camp, "/networks/net", "/sources/exo", "/webhooks/crm",
			"/lead-endpoints/card-" + h.acct, "/crm-sources/crm-" + h.acct, "/meta-datasets/123456789012345",
		} {
			h.api("DELETE", a+path, nil, 200)
			h.api("GET", a+path, nil, 404)
			h.api("DELETE", a+path, nil, 404)
		}
		if got := h.api("GET", a+"/meta-datasets", nil, 200); len(got) != 0 {
			t.Errorf("GET meta-datasets after the delete: %v", got)
		}

		resp := h.do(httptest.NewRequest("GET", "/c/"+camp+"?external_id=E2", nil))
		if resp.StatusCode != 404 || resp.Header.Get("Location") != "" {
			t.Errorf("deleted campaign's link: %d, Location %q; want its 404 page", resp.StatusCode, resp.Header.Get("Location"))
		}
		pb := fmt.Sprintf("/v1/postback/%s/net?cid=%s&payout=5.50&txid=T1&secret=s3cret", h.acct, cid)
		if code, body := h.postback(pb); code != 404 || body != "error=unknown_network" {
			t.Errorf("postback through the deleted network: %d %q", code, body)
		}
	})
}

// A deleted webinar leaves the list and its tags; its totals stay.
func TestWebinarCanBeDeleted(t *testing.T) {
	ledgers(t, func(t *testing.T, l storage.Ledger) {
		h := newHarness(t, l)
		a := "/accounts/" + h.acct
		h.api("PUT", a+"/webinars/w1", map[string]any{"name": "Launch", "tags": []string{"course"}}, 200)
		h.pixel("tag=course&amount=10&orderId=O1")
		h.api("DELETE", a+"/webinars/w1", nil, 200)
		h.api("DELETE", a+"/webinars/w1", nil, 404)
		if ws := h.api("GET", a+"/webinars", nil, 200)["webinars"].([]any); len(ws) != 0 {
			t.Errorf("webinars after the delete: %v", ws)
		}
		assertStats(t, h.stats("w1"), 1, map[string]any{"USD": "10.00"}) // history stays
		h.pixel("tag=course&amount=10&orderId=O2")                       // the tag no longer stands for it
		assertStats(t, h.stats("w1"), 1, map[string]any{"USD": "10.00"})

		h.api("PUT", a+"/webinars/w1", map[string]any{"name": "Launch again"}, 200)
		if ws := h.api("GET", a+"/webinars", nil, 200)["webinars"].([]any); len(ws) != 1 {
			t.Errorf("webinars after a new PUT: %v", ws)
		}
	})
}

// Webhooks and sources can be switched off: nothing is delivered to them.
// An empty event list is refused, never stored as every event.
func TestWebhooksAndSourcesCanBeSwitchedOff(t *testing.T) {
	h := newHarness(t, embeddedLedger(t), "--allow-private-targets")
	a := "/accounts/" + h.acct
	hook := map[string]any{"url": "http://127.0.0.1:9/hook", "secret": "webhook-secret-0123456789"}
	h.api("PUT", a+"/webhooks/crm", map[string]any{"url": hook["url"], "secret": hook["secret"], "events": []string{}}, 400)
	h.api("PUT", a+"/sources/exo", map[string]any{"postback_url": "http://127.0.0.1:9/tag.php?tag={external_id}", "statuses": []string{}}, 400)
	if got := h.api("PUT", a+"/webhooks/crm", map[string]any{"url": hook["url"], "secret": hook["secret"], "enabled": false}, 200); got["enabled"] != false {
		t.Errorf("webhook answer: %v", got)
	}
	camp := h.s2s("http://127.0.0.1:9")
	if got := h.api("PUT", a+"/sources/exo", map[string]any{"postback_url": "http://127.0.0.1:9/tag.php?tag={external_id}", "enabled": false}, 200); got["enabled"] != false {
		t.Errorf("source answer: %v", got)
	}
	cid := h.clickThrough(camp, "external_id=E1")
	if code, body := h.postback(fmt.Sprintf("/v1/postback/%s/net?cid=%s&payout=5.50&txid=T1&secret=s3cret", h.acct, cid)); code != 200 || body != "ok" {
		t.Fatalf("postback: %d %q", code, body)
	}
	h.pixel("webinarId=w1&email=off@example.com&amount=12.50&orderId=W1")
	if ds := h.api("GET", a+"/deliveries", nil, 200)["deliveries"].([]any); len(ds) != 0 {
		t.Errorf("deliveries to a switched-off webhook and source: %v", ds)
	}

	// Switched on again (the default), they are delivered to.
	h.api("PUT", a+"/webhooks/crm", hook, 200)
	h.pixel("webinarId=w1&email=on@example.com&amount=12.50&orderId=W2")
	if ds := h.api("GET", a+"/deliveries", nil, 200)["deliveries"].([]any); len(ds) != 1 {
		t.Errorf("deliveries to a webhook switched on: %v", ds)
	}
}
