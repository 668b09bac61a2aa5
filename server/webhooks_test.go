package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// crmReceiver is a fake CRM on loopback that verifies each webhook's
// signature as the README tells receivers to, and keeps the bodies.
type crmReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
	bad    int
}

func newCRMReceiver(t *testing.T, secret string) *crmReceiver {
	r := &crmReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(req.Header.Get("X-Pixelpost-Timestamp") + "." + string(body)))
		want := "sha256=" + hex.EncodeToString(m.Sum(nil))
		r.mu.Lock()
		defer r.mu.Unlock()
		if !hmac.Equal([]byte(want), []byte(req.Header.Get("X-Pixelpost-Signature"))) {
			r.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var doc map[string]any
		_ = json.Unmarshal(body, &doc)
		r.bodies = append(r.bodies, doc)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *crmReceiver) received() ([]map[string]any, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.bodies...), r.bad
}

func TestWebhookGetsSignedConversions(t *testing.T) {
	h := newHarness(t, embeddedLedger(t), "--allow-private-targets")
	const secret = "webhook-secret-0123456789"
	crm := newCRMReceiver(t, secret)
	h.api("PUT", "/accounts/"+h.acct+"/webhooks/crm", map[string]any{"url": crm.URL + "/hook", "secret": secret}, 200)
	h.api("PUT", "/accounts/"+h.acct+"/webhooks/short", map[string]any{"url": crm.URL, "secret": "short"}, 400)
	h.pixel("webinarId=w1&email=wh@example.com&amount=12.50&orderId=W1")
	h.pixel("webinarId=w1&email=wh@example.com&amount=12.50&orderId=W1") // a refresh: nothing new
	waitFor(t, "the webhook", func() bool { b, _ := crm.received(); return len(b) >= 1 })
	bodies, bad := crm.received()
	if bad != 0 || len(bodies) != 1 {
		t.Fatalf("%d bodies, %d with a bad signature; want 1 good", len(bodies), bad)
	}
	d := bodies[0]["data"].(map[string]any)
	if bodies[0]["event"] != "conversion" || d["email"] != "wh@example.com" || d["amount"] != "12.50" || d["order_id"] != "W1" {
		t.Errorf("webhook body %v", bodies[0])
	}
}
