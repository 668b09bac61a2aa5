package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/pixelpost/pixelpost/storage"
)

// HEAD requests, prefetches and link-preview robots on a campaign link are
// redirected to the offer like a visitor, but are no click: no click is
// stored (its id converts nothing), no cookie is set, no cost is counted;
// they are counted as ignored.
func TestClickHeadPrefetchAndPreviewAgentsAreNotClicks(t *testing.T) {
	h := newHarness(t, embeddedLedger(t), "--allow-private-targets")
	camp := h.s2s("http://127.0.0.1:9")
	n := 0
	f := func(method, header, value string) {
		t.Helper()
		n++
		req := httptest.NewRequest(method, "/c/"+camp+"?external_id=E&zone_id=7&cost=0.50", nil)
		req.Header.Set(header, value)
		resp := h.do(req)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc == nil || loc.Host != "offer.example" || loc.Query().Get("z") != "7" {
			t.Errorf("%s with %s %q: %d to %q, want 302 to the offer", method, header, value, resp.StatusCode, resp.Header.Get("Location"))
			return
		}
		if len(resp.Cookies()) != 0 {
			t.Errorf("%s with %s %q set cookies %v", method, header, value, resp.Cookies())
		}
		h.settle()
		cid := loc.Query().Get("s1")
		if code, body := h.postback(fmt.Sprintf("/v1/postback/%s/net?cid=%s&payout=1&secret=s3cret", h.acct, cid)); code != 404 || body != "error=unknown_click" {
			t.Errorf("%s with %s %q: its click id converts: %d %q, want 404 error=unknown_click", method, header, value, code, body)
		}
	}
	f("HEAD", "User-Agent", "Mozilla/5.0")
	f("GET", "Sec-Purpose", "prefetch")
	f("GET", "Sec-Purpose", "prefetch;prerender")
	f("GET", "Purpose", "prefetch")
	f("GET", "User-Agent", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)")
	f("GET", "User-Agent", "Facebot")
	f("GET", "User-Agent", "Twitterbot/1.0")
	f("GET", "User-Agent", "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)")
	f("GET", "User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	f("GET", "User-Agent", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)")
	f("GET", "User-Agent", "WhatsApp/2.23.20.0")
	f("GET", "User-Agent", "TelegramBot (like TwitterBot)")
	f("GET", "User-Agent", "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)")
	f("GET", "User-Agent", "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5")
	f("GET", "User-Agent", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
	f("GET", "User-Agent", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)")
	if got := h.srv.metrics.count(storage.KindClick, string(storage.StatusAccepted), ""); got != 0 {
		t.Errorf("%d clicks counted from robots and prefetches, want 0", got)
	}
	if got := h.srv.metrics.count(storage.KindClick, "ignored", "prefetch"); got != uint64(n) {
		t.Errorf("%d ignored clicks counted, want %d", got, n)
	}
	// A visitor's click still counts.
	h.clickThrough(camp, "external_id=E")
	if got := h.srv.metrics.count(storage.KindClick, string(storage.StatusAccepted), ""); got != 1 {
		t.Errorf("%d clicks counted after one visitor, want 1", got)
	}
}
