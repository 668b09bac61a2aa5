package server

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pixelpost/pixelpost/storage"
)

// An ExoClick source made from its template gives its campaigns a link
// with ExoClick's macros, ready to paste (issue 15, item 4).
func TestCampaignLinkFromSourceTemplate(t *testing.T) {
	h := newHarness(t, embeddedLedger(t))
	a := "/accounts/" + h.acct
	tpl := h.api("GET", a+"/templates", nil, 200)
	exo := tpl["sources"].([]any)[0].(map[string]any)
	if exo["name"] != "exoclick" || !strings.Contains(exo["postback_url"].(string), "s.magsrv.com/tag.php?goal=GOAL_ID&tag={external_id}&value={payout}") {
		t.Fatalf("exoclick template: %v", exo)
	}
	if n := len(tpl["networks"].([]any)); n != 6 {
		t.Errorf("%d network presets, want 6", n)
	}
	src := h.api("PUT", a+"/sources/exo", map[string]any{
		"template": "exoclick", "postback_url": "http://s.magsrv.com/tag.php?goal=g1&tag={external_id}&value={payout}",
	}, 200)
	if src["link_query"] != exo["link_query"] {
		t.Errorf("source link_query %v, want the template's %v", src["link_query"], exo["link_query"])
	}
	h.api("PUT", a+"/sources/plain", map[string]any{"postback_url": "http://s.magsrv.com/x?tag={external_id}"}, 200)
	camp := "link-" + h.acct
	got := h.api("PUT", a+"/campaigns/"+camp, map[string]any{"source_id": "exo", "offer_url": "https://offer.example/?s1={clickid}"}, 200)
	want := "http://example.com/c/" + camp + "?external_id={conversions_tracking}&zoneid={zone_id}&campid={campaign_id}&siteid={site_id}" +
		"&variation_id={variation_id}&catid={category_id}&country={country}&format={format}&cost={actual_cost}"
	if got["link"] != want {
		t.Errorf("campaign link\n got %v\nwant %v", got["link"], want)
	}
	if got["enabled"] != true {
		t.Errorf("a new campaign is enabled: %v", got["enabled"])
	}
	// A GET's answer can be sent back as it is.
	h.api("PUT", a+"/campaigns/"+camp, h.api("GET", a+"/campaigns/"+camp, nil, 200), 200)
	other := h.api("PUT", a+"/campaigns/plain-"+h.acct, map[string]any{"source_id": "plain", "offer_url": "https://offer.example/"}, 200)
	if other["link"] != "http://example.com/c/plain-"+h.acct {
		t.Errorf("link of a campaign whose source has no link query: %v", other["link"])
	}

	for _, bad := range []map[string]any{
		{"template": "nope", "postback_url": "http://s.magsrv.com/x"},
		{"link_query": "a=1#x", "postback_url": "http://s.magsrv.com/x"},
	} {
		h.api("PUT", a+"/sources/bad", bad, 400)
	}
}

// A paused campaign's link answers its 404 page and records no click;
// switched on again, it redirects.
func TestCampaignCanBeDisabled(t *testing.T) {
	ledgers(t, func(t *testing.T, l storage.Ledger) {
		h := newHarness(t, l)
		a := "/accounts/" + h.acct
		camp := "pause-" + h.acct
		h.api("PUT", a+"/campaigns/"+camp, map[string]any{"offer_url": "https://offer.example/?s1={clickid}", "enabled": false}, 200)
		resp := h.do(httptest.NewRequest("GET", "/c/"+camp+"?zoneid=1", nil))
		if resp.StatusCode != 404 || resp.Header.Get("Location") != "" {
			t.Fatalf("disabled campaign's link: %d %q, want its 404 page", resp.StatusCode, resp.Header.Get("Location"))
		}
		h.settle()
		rej := h.api("GET", a+"/hits/rejected", nil, 200)
		if s := fmt.Sprint(rej); !strings.Contains(s, "campaign_disabled") {
			t.Errorf("refused hits do not say why: %s", s)
		}
		h.api("PUT", a+"/campaigns/"+camp, map[string]any{"offer_url": "https://offer.example/?s1={clickid}", "enabled": true}, 200)
		h.clickThrough(camp, "zoneid=1")
	})
}

// "Send a test postback": the server follows the campaign's link and
// fires the network's postback URL at itself, and shows the answer.
func TestTestPostback(t *testing.T) {
	h := newHarness(t, embeddedLedger(t), "--allow-private-targets")
	a := "/accounts/" + h.acct
	camp := h.s2s("http://127.0.0.1:9")
	out := h.api("POST", a+"/campaigns/"+camp+"/test-postback", map[string]any{"payout": "3.00", "status": "approved"}, 200)
	pb, _ := out["postback"].(map[string]any)
	if out["ok"] != true || pb["status"] != 200.0 || pb["answer"] != "ok" {
		t.Fatalf("test postback: %v", out)
	}
	u := pb["url"].(string)
	if !strings.HasPrefix(u, "http://example.com/v1/postback/"+h.acct+"/net?cid=") || strings.Contains(u, "s3cret") ||
		!strings.Contains(u, "&payout=3.00&txid=pp-test-") || !strings.HasSuffix(u, "&status=approved&secret=****") {
		t.Errorf("postback URL shown: %s", u)
	}
	h.settle()
	// A real conversion of a real click, through the network's checks.
	log := h.api("GET", a+"/logs/conversions?campaign="+camp, nil, 200)
	cs := log["conversions"].([]any)
	if len(cs) != 1 || cs[0].(map[string]any)["click_id"] != out["click_id"] || cs[0].(map[string]any)["status"] != "approved" {
		t.Errorf("conversion log after the test: %v", cs)
	}
	// A network's refusal is shown, not hidden.
	h.api("PUT", a+"/networks/net", map[string]any{"preset": "generic", "secret": "s3cret", "allow_ips": []string{"203.0.113.0/24"}}, 200)
	out = h.api("POST", a+"/campaigns/"+camp+"/test-postback", nil, 200)
	if pb := out["postback"].(map[string]any); out["ok"] != false || pb["status"] != 403.0 || pb["answer"] != "error=ip_not_allowed" {
		t.Errorf("test through an allow-list: %v", out)
	}
	// A paused campaign: the click step says so.
	h.api("PUT", a+"/campaigns/"+camp, map[string]any{"offer_url": "https://offer.example/", "enabled": false}, 200)
	out = h.api("POST", a+"/campaigns/"+camp+"/test-postback", nil, 200)
	if cl := out["click"].(map[string]any); out["ok"] != false || cl["status"] != 404.0 || out["postback"] != nil {
		t.Errorf("test of a paused campaign: %v", out)
	}
	// A read-only key may not make clicks and conversions.
	key := h.api("POST", a+"/api-keys", map[string]any{"name": "viewer", "role": "read"}, 201)["key"].(string)
	req := httptest.NewRequest("POST", "/api/v1"+a+"/campaigns/"+camp+"/test-postback", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	if resp := h.do(req); resp.StatusCode != 403 {
		t.Errorf("test postback with a read-only key: %d, want 403", resp.StatusCode)
	}
	h.api("POST", a+"/campaigns/nope/test-postback", nil, 404)
	h.api("POST", a+"/campaigns/"+camp+"/test-postback", map[string]any{"status": "won"}, 400)
	h.api("POST", a+"/campaigns/"+camp+"/test-postback", map[string]any{"payout": "1e3"}, 400)
}
