package server

import (
	"net/url"
	"strings"
	"testing"
)

// Every network answer shows the postback URL to paste into that network;
// fired with the network's macros replaced by real values, it converts
// the click (issue 12, item 11).
func TestNetworkPostbackURLWorksForEveryPreset(t *testing.T) {
	h := newHarness(t, embeddedLedger(t))
	a := "/accounts/" + h.acct
	// What each network (or tracker) writes in place of its macros.
	macroValues := map[string]string{
		"{payout}": "5.00", "{sum}": "5.00", "{revenue}": "5.00",
		"{transaction_id}": "T1", "{transactionid}": "T1", "{tid}": "T1",
		"{currency}": "USD", "{goal}": "1",
	}
	statusValue := map[string]string{"affise": "1", "keitaro": "sale", "binom": "approved", "voluum": "sale"}
	for _, preset := range []string{"generic", "exoclick", "voluum", "keitaro", "binom", "affise"} {
		t.Run(preset, func(t *testing.T) {
			net := "n-" + preset
			got := h.api("PUT", a+"/networks/"+net, map[string]any{"preset": preset, "secret": "s3cret-" + preset}, 200)
			listed := h.api("GET", a+"/networks", nil, 200)[net].(map[string]any)
			if got["postback_url"] == nil || got["postback_url"] != listed["postback_url"] || got["postback_url"] != h.api("GET", a+"/networks/"+net, nil, 200)["postback_url"] {
				t.Fatalf("postback_url of PUT %v, of the list %v", got["postback_url"], listed["postback_url"])
			}
			pb := got["postback_url"].(string)
			if strings.Contains(pb, "s3cret") {
				t.Fatalf("the secret is shown: %s", pb)
			}
			camp := "c-" + preset + "-" + h.acct
			h.api("PUT", a+"/campaigns/"+camp, map[string]any{"network_id": net, "offer_url": "https://offer.example/?s1={clickid}"}, 200)
			cid := h.clickThrough(camp, "zone_id=7")

			u, err := url.Parse(pb)
			if err != nil || u.Path != "/v1/postback/"+h.acct+"/"+net {
				t.Fatalf("postback_url %q: %v", pb, err)
			}
			q := url.Values{}
			for name, vals := range u.Query() {
				v := vals[0]
				switch v {
				case "{sub1}", "{externalid}", "{external_id}":
					v = cid
				case "{status}", "{cnv_status}":
					v = statusValue[preset]
					if v == "" {
						v = "approved"
					}
				case "YOUR_SECRET":
					v = "s3cret-" + preset
				default:
					if real, ok := macroValues[v]; ok {
						v = real
					} else {
						t.Fatalf("postback_url %q: %s=%s is no macro this test knows", pb, name, v)
					}
				}
				q.Set(name, v)
			}
			fired := u.Path + "?" + q.Encode()
			if code, body := h.postback(fired); code != 200 || body != "ok" {
				t.Fatalf("postback_url %q fired as %q: %d %q", pb, fired, code, body)
			}
		})
	}
}

// Campaign answers never show the fields computed for the click path.
func TestCampaignAnswersHideInternalFields(t *testing.T) {
	h := newHarness(t, embeddedLedger(t))
	path := "/accounts/" + h.acct + "/campaigns/c-" + h.acct
	body := map[string]any{"offer_url": "https://offer.example/?s1={clickid}", "cpc": "0.01", "payout": "2.00",
		"goals": map[string]any{"lead": map[string]any{"type": "fixed", "value": "2.00"}}}
	for name, got := range map[string]map[string]any{
		"PUT":  h.api("PUT", path, body, 200),
		"GET":  h.api("GET", path, nil, 200),
		"list": h.api("GET", "/accounts/"+h.acct+"/campaigns", nil, 200)["c-"+h.acct].(map[string]any),
	} {
		for _, f := range []string{"cpc_micros", "valuation"} {
			if _, ok := got[f]; ok {
				t.Errorf("%s answers %s: %v", name, f, got)
			}
		}
		if got["cpc"] != "0.01" || got["payout"] != "2.00" {
			t.Errorf("%s: %v", name, got)
		}
	}
}
