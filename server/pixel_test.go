package server

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/storage"
)

func TestPixelCountsOrderOnceAndReplacesAmount(t *testing.T) {
	ledgers(t, func(t *testing.T, l storage.Ledger) {
		h := newHarness(t, l)
		h.pixel("webinarId=w1&email=ann@example.com&amount=49.99&currency=USD&orderId=A1")
		h.pixel("webinarId=w1&email=ann@example.com&amount=49.99&currency=USD&orderId=A1") // refresh
		assertStats(t, h.stats("w1"), 1, map[string]any{"USD": "49.99"})
		h.pixel("webinarId=w1&email=ann@example.com&amount=59,99&currency=usd&orderId=A1") // latest amount replaces
		st := h.stats("w1")
		assertStats(t, st, 1, map[string]any{"USD": "59.99"})
		if st["converted"] != 1.0 {
			t.Errorf("converted = %v, want 1", st["converted"])
		}
		a := h.api("GET", "/accounts/"+h.acct+"/attendees/Ann@Example.com", nil, 200)
		if a["orders"] != 1.0 || a["ltv"].(map[string]any)["USD"] != "59.99" {
			t.Errorf("attendee = %v", a)
		}
		list := a["order_list"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["order_id"] != "A1" || list[0].(map[string]any)["amount"] != "59.99" {
			t.Errorf("order_list = %v", list)
		}
	})
}

func TestPixelRefreshWithoutOrderIDCountsOnce(t *testing.T) {
	ledgers(t, func(t *testing.T, l storage.Ledger) {
		h := newHarness(t, l)
		// Keyed by attendee + webinar set: webinar order does not matter.
		h.pixel("webinarId=w1&webinarId=w2&email=bob@example.com&amount=10")
		h.pixel("webinarId=w2&webinarId=w1&email=bob@example.com&amount=10")
		assertStats(t, h.stats("w1"), 1, map[string]any{"USD": "10.00"})
		assertStats(t, h.stats("w2"), 1, map[string]any{"USD": "10.00"})
		// No attendee: a fingerprint within 30 minutes.
		h.pixel("webinarId=w3&amount=5")
		h.clock.add(20 * time.Minute)
		h.pixel("webinarId=w3&amount=5")
		assertStats(t, h.stats("w3"), 1, map[string]any{"USD": "5.00"})
		h.clock.add(31 * time.Minute)
		h.pixel("webinarId=w3&amount=5")
		assertStats(t, h.stats("w3"), 2, map[string]any{"USD": "10.00"})
	})
}

func TestTagsResolveAtHitTime(t *testing.T) {
	ledgers(t, func(t *testing.T, l storage.Ledger) {
		h := newHarness(t, l)
		h.api("PUT", "/accounts/"+h.acct+"/webinars/w1", map[string]any{"name": "One", "tags": []string{"course_sales"}}, 200)
		h.pixel("tag=course_sales&email=c1@example.com&amount=100&orderId=O1")
		// w2 is tagged after the pixel went live: credited from then on.
		h.api("PUT", "/accounts/"+h.acct+"/webinars/w2", map[string]any{"name": "Two", "tags": []string{"course_sales"}}, 200)
		h.pixel("tag=course_sales&email=c2@example.com&amount=100&orderId=O2")
		assertStats(t, h.stats("w1"), 2, map[string]any{"USD": "200.00"})
		assertStats(t, h.stats("w2"), 1, map[string]any{"USD": "100.00"})
		// A webinar first seen in a pixel is listed, untagged.
		h.pixel("webinarId=fresh9&amount=1&orderId=O3")
		ws := h.api("GET", "/accounts/"+h.acct+"/webinars", nil, 200)["webinars"].([]any)
		var ids []string
		for _, w := range ws {
			ids = append(ids, w.(map[string]any)["id"].(string))
		}
		if strings.Join(ids, ",") != "fresh9,w1,w2" {
			t.Errorf("webinars = %v, want fresh9,w1,w2", ids)
		}
	})
}

func TestRecurringChargeCreditsAcquisitionWebinar(t *testing.T) {
	ledgers(t, func(t *testing.T, l storage.Ledger) {
		h := newHarness(t, l)
		h.pixel("webinarId=w1&email=d@example.com&amount=49.99&orderId=M1")
		// Backend monthly charges: no webinar, new order ids.
		h.pixel("email=d@example.com&amount=49.99&orderId=M2")
		h.pixel("email=d@example.com&amount=49.99&orderId=M3")
		assertStats(t, h.stats("w1"), 3, map[string]any{"USD": "149.97"})
		a := h.api("GET", "/accounts/"+h.acct+"/attendees/d@example.com", nil, 200)
		if a["orders"] != 3.0 || a["ltv"].(map[string]any)["USD"] != "149.97" {
			t.Errorf("attendee = %v", a)
		}
		// A different currency on an existing order is refused, with a reason.
		h.pixel("email=d@example.com&amount=10&currency=EUR&orderId=M3")
		assertStats(t, h.stats("w1"), 3, map[string]any{"USD": "149.97"})
		assertRejected(t, h, "currency_mismatch")
	})
}

func TestRegistrationCookieAndConversionRate(t *testing.T) {
	ledgers(t, func(t *testing.T, l storage.Ledger) {
		h := newHarness(t, l)
		resp := h.pixelReq(httptest.NewRequest("GET", "/v1/attendee/pixel/"+h.acct+"?webinarId=w1&email=e1@example.com", nil))
		var cookie string
		for _, c := range resp.Cookies() {
			if c.Name == "pp_aid" {
				cookie = c.Value
				if !c.HttpOnly || c.MaxAge <= 0 {
					t.Errorf("pp_aid cookie attributes: %+v", c)
				}
			}
		}
		if len(cookie) != cookieIDLen {
			t.Fatalf("no pp_aid cookie set: %v", resp.Header)
		}
		h.pixel("webinarId=w1&email=e2@example.com")
		h.pixelReq(httptest.NewRequest("GET", "/v1/attendee/pixel/"+h.acct+"?webinarId=w1&email=e3@example.com", nil))
		// The first registrant buys on another page that only has the cookie.
		req := httptest.NewRequest("GET", "/v1/conversion/pixel/"+h.acct+"?webinarId=w1&amount=20&orderId=R1", nil)
		req.Header.Set("Cookie", "pp_aid="+cookie)
		h.pixelReq(req)
		st := h.stats("w1")
		if st["registrants"] != 2.0 || st["converted"] != 2.0 || st["conversion_rate"] != 0.5 {
			t.Errorf("stats = %v, want 2 registrants, 2 converted, rate 0.5", st)
		}
		a := h.api("GET", "/accounts/"+h.acct+"/attendees/e1@example.com", nil, 200)
		if a["orders"] != 1.0 {
			t.Errorf("cookie conversion not linked to e1: %v", a)
		}
		csv := h.rawAPI("GET", "/accounts/"+h.acct+"/registrants.csv?webinarId=w1")
		lines := strings.Split(strings.TrimSpace(csv), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[1], "e1@example.com,") || !strings.Contains(lines[1], ",true,1,1,20.00 USD") {
			t.Errorf("registrants.csv =\n%s", csv)
		}
	})
}

func (h *harness) rawAPI(method, path string) string {
	h.t.Helper()
	req := httptest.NewRequest(method, "/api/v1"+path, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp := h.do(req)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		h.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return string(b)
}

func assertRejected(t *testing.T, h *harness, reason string) {
	t.Helper()
	rs := h.api("GET", "/accounts/"+h.acct+"/hits/rejected", nil, 200)["rejections"].([]any)
	if len(rs) == 0 || rs[0].(map[string]any)["reason"] != reason {
		t.Fatalf("latest rejection = %v, want reason %s", rs, reason)
	}
}

func TestHostilePixelQueriesAnswerGIFAndRecordReason(t *testing.T) {
	h := newHarness(t, embeddedLedger(t))
	cases := []struct{ name, query, reason string }{
		{"bad percent-encoding", "webinarId=w1&amount=%zz", "invalid_encoding"},
		{"invalid utf-8", "webinarId=w1&email=%ff%fe@x.com", "invalid_encoding"},
		{"nul byte", "webinarId=w1&orderId=a%00b", "invalid_encoding"},
		{"4 KB value", "webinarId=w1&productName=" + strings.Repeat("x", 4096), "param_too_long"},
		{"repeated amount", "webinarId=w1&amount=1&amount=2", "duplicate_param"},
		{"NaN", "webinarId=w1&amount=NaN", "invalid_amount"},
		{"negative", "webinarId=w1&amount=-5", "invalid_amount"},
		{"exponent", "webinarId=w1&amount=1e3", "invalid_amount"},
		{"20 digits", "webinarId=w1&amount=12345678901234567890", "invalid_amount"},
		{"odd currency", "webinarId=w1&amount=5&currency=XYZ", "invalid_currency"},
		{"too precise", "webinarId=w1&amount=10.5&currency=JPY", "amount_precision"},
		{"zero-width email", "webinarId=w1&email=a%E2%80%8Bb@x.com", "invalid_email"},
		{"too many params", strings.Repeat("a=1&", 51), "too_many_params"},
		{"webinar id with braces", "webinarId=%7Bx%7D1", "invalid_webinar_id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.pixel(tc.query)
			assertRejected(t, h, tc.reason)
			if n := h.srv.metrics.count(storage.KindPixel, "rejected", tc.reason); n == 0 {
				t.Errorf("metric for %s not counted", tc.reason)
			}
		})
	}
	if st := h.api("GET", "/accounts/"+h.acct+"/webinars", nil, 200)["webinars"].([]any); len(st) != 0 {
		t.Errorf("rejected hits created webinars: %v", st)
	}
	// Unknown account: GIF, rejection counted.
	h.pixelReq(httptest.NewRequest("GET", "/v1/conversion/pixel/nosuchacct?webinarId=w1&amount=5", nil))
	if h.srv.metrics.count(storage.KindPixel, "rejected", "unknown_account") != 1 {
		t.Error("unknown account not counted")
	}
}

func TestHeadAndPrefetchCountNothing(t *testing.T) {
	h := newHarness(t, embeddedLedger(t))
	h.pixelReq(httptest.NewRequest("HEAD", "/v1/conversion/pixel/"+h.acct+"?webinarId=w1&amount=5&orderId=H", nil))
	req := httptest.NewRequest("GET", "/v1/conversion/pixel/"+h.acct+"?webinarId=w1&amount=5&orderId=H", nil)
	req.Header.Set("User-Agent", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)")
	h.pixelReq(req)
	req = httptest.NewRequest("GET", "/v1/conversion/pixel/"+h.acct+"?webinarId=w1&amount=5&orderId=H", nil)
	req.Header.Set("Sec-Purpose", "prefetch;prerender")
	h.pixelReq(req)
	h.api("GET", "/accounts/"+h.acct+"/webinars/w1/stats", nil, 404)
}

func TestPlaceholdersCountAsAbsent(t *testing.T) {
	h := newHarness(t, embeddedLedger(t))
	h.pixel("webinarId=w1&email={{email}}&amount=%7B%7Btotal_price%7D%7D&orderId=%25ORDER%25&currency=[currency]")
	h.pixel("webinarId=w1&email={{email}}&amount=%7B%7Btotal_price%7D%7D&orderId=%25ORDER%25&currency=[currency]")
	st := h.stats("w1")
	// Same fingerprint twice within 30 minutes: one sale of 0.
	if st["sales"] != 1.0 {
		t.Errorf("stats = %v, want 1 sale", st)
	}
}

func TestEmailPlusSignRestored(t *testing.T) {
	h := newHarness(t, embeddedLedger(t))
	h.pixel("webinarId=w1&email=john+tag@gmail.com&amount=5&orderId=P1") // '+' arrives as a space
	a := h.api("GET", "/accounts/"+h.acct+"/attendees/john%2Btag@gmail.com", nil, 200)
	if a["email"] != "john+tag@gmail.com" {
		t.Errorf("attendee email = %v", a["email"])
	}
}
