package server

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pixelpost/pixelpost/storage"
)

func TestAdminAPIRequiresBearerToken(t *testing.T) {
	h := newHarness(t, embeddedLedger(t))
	for _, auth := range []string{"", "Bearer wrong-token-wrong-token", "Basic " + testToken, testToken} {
		req := httptest.NewRequest("GET", "/api/v1/accounts/"+h.acct+"/webinars", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if resp := h.do(req); resp.StatusCode != 401 {
			t.Errorf("Authorization %q: status %d, want 401", auth, resp.StatusCode)
		}
	}
}

func TestAdminAPIErrors(t *testing.T) {
	h := newHarness(t, embeddedLedger(t))
	cases := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"unknown account", "GET", "/accounts/nosuch/webinars", nil, 404, "not_found"},
		{"bad account id", "PUT", "/accounts/a%7Bb%7D", map[string]any{"name": "x"}, 400, "invalid_account_id"},
		{"bad currency", "PUT", "/accounts/" + h.acct, map[string]any{"default_currency": "XYZ"}, 400, "invalid_currency"},
		{"unknown field", "PUT", "/accounts/" + h.acct, map[string]any{"nmae": "typo"}, 400, "invalid_json"},
		{"bad tag", "PUT", "/accounts/" + h.acct + "/webinars/w1", map[string]any{"tags": []string{"has space"}}, 400, "invalid_tag"},
		{"unknown webinar stats", "GET", "/accounts/" + h.acct + "/webinars/nope/stats", nil, 404, "not_found"},
		{"unknown attendee", "GET", "/accounts/" + h.acct + "/attendees/nobody@example.com", nil, 404, "not_found"},
		{"bad email", "GET", "/accounts/" + h.acct + "/attendees/not-an-email", nil, 400, "invalid_email"},
		{"bad amount", "POST", "/accounts/" + h.acct + "/attendees/x@example.com/conversions", map[string]any{"webinar_id": "w1", "amount": "1e9"}, 400, "invalid_amount"},
		{"csv without webinar", "GET", "/accounts/" + h.acct + "/registrants.csv", nil, 400, "invalid_webinar_id"},
		{"no such endpoint", "GET", "/accounts/" + h.acct + "/nothing", nil, 404, "not_found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := h.api(tc.method, tc.path, tc.body, tc.status)
			if got["error"] != tc.code || got["message"] == "" {
				t.Errorf("answer %v, want error %q with a message", got, tc.code)
			}
		})
	}
}

func TestManualConversion(t *testing.T) {
	ledgers(t, func(t *testing.T, l storage.Ledger) {
		h := newHarness(t, l)
		path := "/accounts/" + h.acct + "/attendees/Vip@Example.com/conversions"
		r := h.api("POST", path, map[string]any{"webinar_id": "w1", "amount": "300", "currency": "EUR", "order_id": "INV-1"}, 200)
		if r["status"] != "accepted" || r["delta"] != "300.00" || r["currency"] != "EUR" {
			t.Errorf("manual conversion = %v", r)
		}
		r = h.api("POST", path, map[string]any{"webinar_id": "w1", "amount": "300", "currency": "EUR", "order_id": "INV-1"}, 200)
		if r["status"] != "duplicate" {
			t.Errorf("repeated manual conversion = %v, want duplicate", r)
		}
		h.pixel("webinarId=w1&amount=10&currency=USD&orderId=X1")
		assertStats(t, h.stats("w1"), 2, map[string]any{"EUR": "300.00", "USD": "10.00"})
		a := h.api("GET", "/accounts/"+h.acct+"/attendees/vip@example.com", nil, 200)
		ol := a["order_list"].([]any)
		if len(ol) != 1 || ol[0].(map[string]any)["source"] != "manual" {
			t.Errorf("order list = %v", ol)
		}
	})
}

func TestReadyzAndMetrics(t *testing.T) {
	h := newHarness(t, embeddedLedger(t))
	if resp := h.do(httptest.NewRequest("GET", "/readyz", nil)); resp.StatusCode != 200 {
		t.Fatalf("readyz = %d", resp.StatusCode)
	}
	h.pixel("webinarId=w1&amount=abc")
	resp := h.do(httptest.NewRequest("GET", "/metrics", nil))
	body := readAll(resp)
	if !strings.Contains(body, `pixelpost_hits_total{kind="pixel",status="rejected",reason="invalid_amount"} 1`) {
		t.Errorf("metrics lack the rejected hit:\n%s", body)
	}
}
