package server

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/pixelpost/pixelpost/storage"
)

// The audit's reproductions: a token in the offer URL's host let a click
// link redirect anywhere (issue 12, item 4).
func TestOfferURLWithTokenInHostRefused(t *testing.T) {
	h := newHarness(t, embeddedLedger(t))
	for _, offer := range []string{
		"https://{domain}/x",
		"https://offer.example{zone_id}/x",
		"https://offer.example:{port}/x",
		"{scheme}://offer.example/x",
	} {
		got := h.api("PUT", "/accounts/"+h.acct+"/campaigns/t1-"+h.acct, map[string]any{"offer_url": offer}, 400)
		if got["error"] != "token_in_host" {
			t.Errorf("offer_url %q: error %v, want token_in_host", offer, got["error"])
		}
	}
	h.api("PUT", "/accounts/"+h.acct+"/campaigns/t1-"+h.acct, map[string]any{"offer_url": "https://offer.example/{domain}?z={zone_id}"}, 200)
}

// A campaign stored with a token in its host (before PUT refused it) still
// never redirects elsewhere.
func TestClickNeverRedirectsToAnotherHost(t *testing.T) {
	l := embeddedLedger(t)
	h := newHarness(t, l)
	for i, offer := range []string{"https://{domain}/x", "https://offer.example{zone_id}/x"} {
		id := "t" + string(rune('1'+i)) + "-" + h.acct
		raw, _ := json.Marshal(campaignDoc{campaignBody: campaignBody{OfferURL: offer, WindowDays: 30}, Currency: "USD"})
		if err := l.PutConfig(t.Context(), h.acct, storage.ConfigCampaign, id, raw); err != nil {
			t.Fatal(err)
		}
		resp := h.do(httptest.NewRequest("GET", "/c/"+id+"?domain=evil.com&zone_id=.evil.com", nil))
		if loc := resp.Header.Get("Location"); resp.StatusCode < 400 || loc != "" {
			t.Errorf("offer_url %q: status %d, Location %q; want an error page and no redirect", offer, resp.StatusCode, loc)
		}
	}
}
