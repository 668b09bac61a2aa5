package server

import (
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/pixelpost/pixelpost/storage"
)

// The attendee list: search by email prefix, sort by lifetime value (one
// currency) or email, pages with a cursor, on every ledger (issue 15,
// item 4).
func TestAttendeeList(t *testing.T) {
	ledgers(t, func(t *testing.T, l storage.Ledger) {
		h := newHarness(t, l)
		a := "/accounts/" + h.acct
		h.pixel("webinarId=w1&email=ann@example.com&amount=10.00&orderId=A1")
		h.pixel("webinarId=w1&email=ann@example.com&amount=5.00&orderId=A2")
		h.pixel("webinarId=w1&email=bob@example.com&amount=40.00&orderId=B1")
		h.pixel("webinarId=w2&email=anna@example.org&amount=15.00&orderId=C1")
		h.pixel("webinarId=w2&email=cy@example.com&amount=99.00&currency=EUR&orderId=D1")
		h.pixelReq(httptest.NewRequest("GET", "/v1/attendee/pixel/"+h.acct+"?webinarId=w2&email=dee@example.com", nil)) // no order
		h.pixel("webinarId=w2&amount=7.00&orderId=E1")                                                                  // no person: not listed

		emails := func(path string) (string, string) {
			t.Helper()
			out := h.api("GET", a+path, nil, 200)
			var got []string
			for _, it := range out["attendees"].([]any) {
				m := it.(map[string]any)
				got = append(got, fmt.Sprintf("%s %v", m["email"], m["ltv"]))
			}
			return strings.Join(got, ", "), out["next_cursor"].(string)
		}
		f := func(path, want string) {
			t.Helper()
			if got, _ := emails(path); got != want {
				t.Errorf("GET %s\n got %s\nwant %s", path, got, want)
			}
		}
		f("/attendees", "bob@example.com map[USD:40.00], ann@example.com map[USD:15.00], anna@example.org map[USD:15.00], "+
			"cy@example.com map[EUR:99.00], dee@example.com map[]")
		f("/attendees?currency=eur", "cy@example.com map[EUR:99.00], ann@example.com map[USD:15.00], anna@example.org map[USD:15.00], "+
			"bob@example.com map[USD:40.00], dee@example.com map[]")
		f("/attendees?prefix=AN", "ann@example.com map[USD:15.00], anna@example.org map[USD:15.00]")
		f("/attendees?prefix=ann%40", "ann@example.com map[USD:15.00]")
		f("/attendees?sort=email&prefix=zz", "")

		// Pages of two, following next_cursor, in the order of one page.
		var all []string
		path := "/attendees?limit=2&sort=email"
		for i := 0; ; i++ {
			got, next := emails(path)
			all = append(all, got)
			if next == "" {
				break
			}
			if i > 5 {
				t.Fatal("the pages do not end")
			}
			path = "/attendees?limit=2&sort=email&cursor=" + url.QueryEscape(next)
		}
		if got, want := strings.Join(all, ", "), "ann@example.com map[USD:15.00], anna@example.org map[USD:15.00], bob@example.com map[USD:40.00], "+
			"cy@example.com map[EUR:99.00], dee@example.com map[]"; got != want {
			t.Errorf("pages\n got %s\nwant %s", got, want)
		}
		one := h.api("GET", a+"/attendees?prefix=ann@", nil, 200)["attendees"].([]any)[0].(map[string]any)
		if one["orders"] != 2.0 || one["last_order"] == nil || fmt.Sprint(one["webinars"]) != "[w1]" || one["attendee_id"] == "" {
			t.Errorf("list item: %v", one)
		}

		h.api("GET", a+"/attendees?sort=size", nil, 400)
		h.api("GET", a+"/attendees?cursor=%%%", nil, 400)
		h.api("GET", a+"/attendees?currency=dollars", nil, 400)
		h.api("GET", a+"/attendees?limit=0", nil, 400)
	})
}
