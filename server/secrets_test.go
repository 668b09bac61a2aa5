package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/pixelpost/pixelpost/storage"
)

// Every secret an admin stores is answered masked (PUT, GET, list), and
// sending the masked document back keeps the secret.
func TestConfigSecretsAreMasked(t *testing.T) {
	l := embeddedLedger(t)
	h := newHarness(t, l, "--allow-private-targets")
	a := "/accounts/" + h.acct
	const long = "s3cret-0123456789-WXYZ" // 22 bytes: its mask keeps WXYZ
	for _, c := range []struct {
		path, kind, field string
		doc               map[string]any
	}{
		{"/networks/net", storage.ConfigNetwork, "secret", map[string]any{"preset": "generic", "secret": long}},
		{"/webhooks/crm", configWebhook, "secret", map[string]any{"url": "http://127.0.0.1:9/hook", "secret": long}},
		{"/lead-endpoints/ep-" + h.acct, storage.ConfigLeadEndpoint, "salt", map[string]any{"salt": long}},
		{"/crm-sources/crm-" + h.acct, storage.ConfigCRMSource, "secret", map[string]any{"preset": "generic", "secret": long}},
	} {
		t.Run(c.kind, func(t *testing.T) {
			id := c.path[strings.LastIndexByte(c.path, '/')+1:]
			listPath := a + c.path[:strings.LastIndexByte(c.path, '/')]
			stored := func() string {
				raw, err := l.Config(context.Background(), h.acct, c.kind, id)
				if err != nil {
					t.Fatal(err)
				}
				var m map[string]any
				_ = json.Unmarshal(raw, &m)
				return fmt.Sprint(m[c.field])
			}
			answers := map[string]map[string]any{
				"PUT":  h.api("PUT", a+c.path, c.doc, 200),
				"GET":  h.api("GET", a+c.path, nil, 200),
				"list": h.api("GET", listPath, nil, 200)[id].(map[string]any),
			}
			for what, got := range answers {
				if got[c.field] != "****WXYZ" || strings.Contains(fmt.Sprint(got), "0123456789") {
					t.Errorf("%s answers %s = %v, want ****WXYZ", what, c.field, got[c.field])
				}
			}
			if s := stored(); s != long {
				t.Fatalf("stored %s = %q, want the secret", c.field, s)
			}

			// Read, edit, write: the mask sent back keeps the secret.
			back := answers["GET"]
			if c.kind == storage.ConfigNetwork {
				back["allow_ips"] = []string{"203.0.113.0/24"}
			}
			h.api("PUT", a+c.path, back, 200)
			if s := stored(); s != long {
				t.Errorf("after a round trip, stored %s = %q, want the secret kept", c.field, s)
			}
			// The mask of another value is refused, not stored.
			back[c.field] = "****ABCD"
			if got := h.api("PUT", a+c.path, back, 400); got["error"] != "masked_secret" {
				t.Errorf("another mask: %v", got)
			}
			// A new secret replaces it.
			back[c.field] = "another-secret-0000000001"
			h.api("PUT", a+c.path, back, 200)
			if s := stored(); s != "another-secret-0000000001" {
				t.Errorf("stored %s = %q after a change", c.field, s)
			}
		})
	}
}

// A network's secret kept by a round trip still checks postbacks.
func TestNetworkSecretRoundTripStillChecks(t *testing.T) {
	h := newHarness(t, embeddedLedger(t), "--allow-private-targets")
	src := newTrafficSource(t)
	camp := h.s2s(src.URL) // network "net", secret "s3cret"
	a := "/accounts/" + h.acct
	got := h.api("GET", a+"/networks/net", nil, 200)
	if got["secret"] != "****" {
		t.Fatalf("short secret shown as %v, want ****", got["secret"])
	}
	h.api("PUT", a+"/networks/net", got, 200)
	cid := h.clickThrough(camp, "external_id=E1")
	pb := fmt.Sprintf("/v1/postback/%s/net?cid=%s&payout=1.00&txid=T1&secret=", h.acct, cid)
	if code, body := h.postback(pb + "****"); code == 200 {
		t.Errorf("the mask accepted as the secret: %d %q", code, body)
	}
	if code, body := h.postback(pb + "s3cret"); code != 200 || body != "ok" {
		t.Errorf("the kept secret: %d %q", code, body)
	}
}

// A Meta dataset's access token sent back masked keeps the token.
func TestMetaTokenRoundTrip(t *testing.T) {
	h := newHarness(t, embeddedLedger(t), "--allow-private-targets")
	graph := newFakeGraph(t, "123456789012345")
	path := "/accounts/" + h.acct + "/meta-datasets/123456789012345"
	const token = "EAAB-secret-token-WXYZ"
	h.api("PUT", path, map[string]any{"access_token": token, "graph_base": graph.URL}, 200)
	got := h.api("GET", path, nil, 200)
	if got["access_token"] != "****WXYZ" {
		t.Fatalf("token shown as %v", got["access_token"])
	}
	h.api("PUT", path, got, 200)
	d, err := h.srv.meta.Dataset(context.Background(), h.acct, "123456789012345")
	if err != nil || d.AccessToken != token {
		t.Errorf("token after a round trip: %q, %v", d.AccessToken, err)
	}
	got["access_token"] = "****ABCD"
	if out := h.api("PUT", path, got, 400); out["error"] != "masked_secret" {
		t.Errorf("another mask: %v", out)
	}
}
