package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/clickhouse"
)

// rowsOf reads an account's raw hits from ClickHouse.
func rowsOf(t *testing.T, ch *clickhouse.Client, acct string) []storage.Hit {
	t.Helper()
	var out []storage.Hit
	if err := ch.Rows(context.Background(), acct, func(h storage.Hit) error { out = append(out, h); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// Erasing an attendee (GDPR) removes it from the ledger and its raw hits
// from ClickHouse, those with its email and its cookie-only ones; a hit of
// it dated up to the erasure is refused and its row keeps no trace of it;
// a purchase after the erasure counts anew.
func TestEraseAttendee(t *testing.T) {
	ch := clickHouse(t)
	h := newHarnessWith(t, Deps{Ledger: embeddedLedger(t), ClickHouse: ch})
	ann, bob := "ann@example.com", "bob@example.com"
	resp := h.pixelReq(httptest.NewRequest("GET", "/v1/attendee/pixel/"+h.acct+"?webinarId=w1&email="+ann, nil))
	cookie := resp.Cookies()[0].Value
	h.pixel("webinarId=w1&email=" + ann + "&amount=50&orderId=A1")
	req := httptest.NewRequest("GET", "/v1/conversion/pixel/"+h.acct+"?webinarId=w1&amount=20&orderId=A2", nil)
	req.Header.Set("Cookie", "pp_aid="+cookie) // cookie-only: the row names ann's attendee id, not her email
	h.pixelReq(req)
	h.pixel("webinarId=w1&email=" + bob + "&amount=30&orderId=B1")
	h.settle()
	h.clock.add(time.Minute)

	a := "/accounts/" + h.acct
	out := h.api("DELETE", a+"/attendees/"+ann, nil, 200)
	if out["found"] != true || out["orders"] != 2.0 || out["registrations"] != 1.0 || out["cookies"] != 1.0 || out["raw_hits"] != "deleted" {
		t.Errorf("erasure answer: %v", out)
	}
	annHash, annID := emailSHA256(ann), attribution.EmailAttendeeID(ann)
	rows := rowsOf(t, ch, h.acct)
	for _, r := range rows {
		if r.EmailSHA256 == annHash || r.AttendeeID == annID {
			t.Errorf("a raw hit of the erased attendee is left: %+v", r)
		}
	}
	if len(rows) != 1 || rows[0].EmailSHA256 != emailSHA256(bob) {
		t.Errorf("rows after the erasure: %d, want bob's one", len(rows))
	}
	h.api("GET", a+"/attendees/"+ann, nil, 404)
	if st := h.stats("w1"); st["sales"] != 1.0 || st["registrants"] != 0.0 || st["revenue"].(map[string]any)["USD"] != "30.00" {
		t.Errorf("stats after the erasure: %v", st)
	}

	// Dated at the erasure (it would have waited in the log): refused, and
	// its row says nothing of the person.
	h.pixel("webinarId=w1&email=" + ann + "&amount=50&orderId=A1")
	var refused *storage.Hit
	waitFor(t, "the refused hit's row", func() bool {
		for _, r := range rowsOf(t, ch, h.acct) {
			if r.Reason == storage.ReasonErased {
				refused = &r
				return true
			}
		}
		return false
	})
	if refused.EmailSHA256 != "" || refused.AttendeeID != "" || refused.IP != "" || refused.UserAgent != "" || refused.Query != "" {
		t.Errorf("the refused hit's row keeps a trace: %+v", refused)
	}

	// Later: a new customer record.
	h.clock.add(time.Minute)
	h.pixel("webinarId=w1&email=" + ann + "&amount=50&orderId=A1")
	if st := h.stats("w1"); st["sales"] != 2.0 {
		t.Errorf("stats after a new purchase: %v", st)
	}
	if again := h.api("DELETE", a+"/attendees/"+ann, nil, 200); again["orders"] != 1.0 || again["raw_hits"] != "deleted" {
		t.Errorf("second erasure: %v", again)
	}
}

// Without ClickHouse the answer says the raw hits are not stored there.
// The CRM webhook that told of the person's purchase keeps no trace of it.
func TestEraseAttendeeEmbedded(t *testing.T) {
	h := newHarness(t, embeddedLedger(t), "--allow-private-targets")
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(crm.Close)
	a := "/accounts/" + h.acct
	h.api("PUT", a+"/webhooks/crm", map[string]any{"url": crm.URL, "secret": "0123456789abcdef"}, 200)
	h.pixel("webinarId=w1&email=ann@example.com&amount=5")
	var ds []any
	waitFor(t, "the webhook delivery", func() bool {
		ds = h.api("GET", a+"/deliveries", nil, 200)["deliveries"].([]any)
		return len(ds) == 1
	})
	h.clock.add(time.Minute)
	out := h.api("DELETE", a+"/attendees/ann@example.com", nil, 200)
	if out["found"] != true || out["orders"] != 1.0 || out["raw_hits"] != "no_clickhouse" || out["deliveries"] != 1.0 {
		t.Errorf("erasure answer: %v", out)
	}
	d := h.api("GET", a+"/deliveries/"+ds[0].(map[string]any)["id"].(string), nil, 200)
	if d["erased"] != true || d["body"] != nil {
		t.Errorf("the delivery after the erasure: %v", d)
	}
	h.api("DELETE", "/accounts/"+h.acct+"/attendees/not-an-email", nil, 400)
}
