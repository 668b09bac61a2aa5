package server

import (
	"fmt"
	"testing"
)

// API lists answer pages of at most 1000 with a next_cursor; following it
// gives every item once; a limit that is not a positive integer is a 400.
func TestListPagesWithCursor(t *testing.T) {
	h := newHarness(t, embeddedLedger(t), "--allow-private-targets")
	src := newTrafficSource(t)
	camp := h.s2s(src.URL)
	for i := range 5 {
		cid := h.clickThrough(camp, fmt.Sprintf("external_id=E%d", i))
		if code, body := h.postback(fmt.Sprintf("/v1/postback/%s/net?cid=%s&payout=1&secret=s3cret", h.acct, cid)); code != 200 {
			t.Fatalf("postback %d: %d %q", i, code, body)
		}
	}
	a := "/accounts/" + h.acct
	all := h.api("GET", a+"/deliveries", nil, 200)["deliveries"].([]any)
	if len(all) != 5 {
		t.Fatalf("%d deliveries, want 5", len(all))
	}
	var walked []any
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("next_cursor never ends")
		}
		page := h.api("GET", a+"/deliveries?limit=2&cursor="+cursor, nil, 200)
		walked = append(walked, page["deliveries"].([]any)...)
		if cursor = page["next_cursor"].(string); cursor == "" {
			break
		}
	}
	if fmt.Sprint(walked) != fmt.Sprint(all) {
		t.Errorf("pages of 2 gave\n%v\nwant\n%v", walked, all)
	}
	if got := h.api("GET", a+"/deliveries?limit=5000", nil, 200); len(got["deliveries"].([]any)) != 5 || got["next_cursor"] != "" {
		t.Errorf("limit=5000: %v", got)
	}
	for _, path := range []string{a + "/deliveries?limit=0", a + "/deliveries?limit=-3", a + "/deliveries?limit=ten", a + "/meta-datasets/ds/events?limit=ten"} {
		if got := h.api("GET", path, nil, 400); got["error"] != "invalid_limit" {
			t.Errorf("%s: %v, want error invalid_limit", path, got)
		}
	}
}
