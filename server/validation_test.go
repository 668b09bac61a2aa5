package server

import (
	"testing"

	"github.com/pixelpost/pixelpost/storage"
)

// A manual conversion's order_id follows the pixel's orderId rule: at most
// 128 bytes, no control characters; a refused one records nothing.
func TestManualConversionOrderIDRules(t *testing.T) {
	h := newHarness(t, embeddedLedger(t))
	path := "/accounts/" + h.acct + "/attendees/ann@example.com/conversions"
	f := func(orderID string, want int) {
		t.Helper()
		got := h.api("POST", path, map[string]any{"webinar_id": "w1", "amount": "5", "order_id": orderID}, want)
		if want == 400 && got["error"] != "invalid_order_id" {
			t.Errorf("order_id %q: %v, want error invalid_order_id", orderID, got)
		}
	}
	f("A\nB", 400)                    // line feed
	f("A\x00B", 400)                  // NUL
	f("A\tB", 400)                    // tab
	f("A\u0085B", 400)                // C1 control (NEL)
	f("A\x7fB", 400)                  // DEL
	f(string(make([]byte, 129)), 400) // too long (and NULs)
	h.api("GET", "/accounts/"+h.acct+"/attendees/ann@example.com", nil, 404)
	f("ORDER 1/ü", 200) // spaces and non-ASCII letters are fine
}

// Amounts above the account's max_amount (default 1,000,000.00 of its
// currency) are refused: the pixel answers the GIF and records
// amount_too_large, the API answers 400. Amounts in other currencies are
// not compared (no exchange rate).
func TestMaxAmount(t *testing.T) {
	ledgers(t, func(t *testing.T, l storage.Ledger) {
		h := newHarness(t, l)
		a := "/accounts/" + h.acct
		if got := h.api("GET", a, nil, 200); got["max_amount"] != "1000000.00" {
			t.Errorf("default max_amount: %v, want 1000000.00", got["max_amount"])
		}
		tooLarge := func() uint64 {
			return h.srv.metrics.count(storage.KindPixel, string(storage.StatusRejected), "amount_too_large")
		}
		h.pixel("webinarId=w1&amount=1000000.01&orderId=big")
		if n := tooLarge(); n != 1 {
			t.Errorf("a pixel over the default cap: %d amount_too_large, want 1", n)
		}
		h.api("GET", a+"/webinars/w1/stats", nil, 404) // nothing counted
		h.pixel("webinarId=w1&amount=1000000.00&orderId=cap")
		assertStats(t, h.stats("w1"), 1, map[string]any{"USD": "1000000.00"})
		h.pixel("webinarId=w1&amount=2000000&currency=EUR&orderId=eur") // another currency: not compared
		assertStats(t, h.stats("w1"), 2, map[string]any{"USD": "1000000.00", "EUR": "2000000.00"})

		got := h.api("PUT", a, map[string]any{"name": "T", "default_currency": "USD", "max_amount": "500"}, 200)
		if got["max_amount"] != "500.00" {
			t.Errorf("max_amount after PUT: %v, want 500.00", got["max_amount"])
		}
		h.pixel("webinarId=w1&amount=500.01&orderId=over")
		if n := tooLarge(); n != 2 {
			t.Errorf("a pixel over max_amount 500: %d amount_too_large, want 2", n)
		}
		assertStats(t, h.stats("w1"), 2, map[string]any{"USD": "1000000.00", "EUR": "2000000.00"})
		res := h.api("POST", a+"/attendees/ann@example.com/conversions", map[string]any{"webinar_id": "w1", "amount": "500.01"}, 400)
		if res["error"] != "amount_too_large" {
			t.Errorf("manual conversion over max_amount: %v, want error amount_too_large", res)
		}
		h.api("POST", a+"/attendees/ann@example.com/conversions", map[string]any{"webinar_id": "w1", "amount": "500"}, 200)
		assertRejected(t, h, "amount_too_large")

		for _, bad := range []string{"0", "-1", "abc", "1.001", "1e6"} {
			res := h.api("PUT", a, map[string]any{"default_currency": "USD", "max_amount": bad}, 400)
			if res["error"] != "invalid_max_amount" {
				t.Errorf("max_amount %q: %v, want error invalid_max_amount", bad, res)
			}
		}
		if got := h.api("PUT", a, map[string]any{"default_currency": "JPY"}, 200); got["max_amount"] != "1000000" {
			t.Errorf("default max_amount in JPY: %v, want 1000000", got["max_amount"])
		}
	})
}
