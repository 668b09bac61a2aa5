package server

import (
	"fmt"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/pixelpost/pixelpost/storage"
)

// fire sends a pixel without waiting for the ledger (settle once after many).
func (h *harness) fire(acct, query string) {
	h.t.Helper()
	resp := h.do(httptest.NewRequest("GET", "/v1/conversion/pixel/"+acct+"?"+query, nil))
	assertGIF(h.t, resp)
}

func TestRejectedHitsAreKeptPerAccount(t *testing.T) {
	h := newHarness(t, embeddedLedger(t))
	other := uniqueAccount()
	h.api("PUT", "/accounts/"+other, map[string]any{"name": "Other", "default_currency": "USD"}, 200)
	for i := range 3 {
		h.fire(h.acct, fmt.Sprintf("webinarId=w1&amount=-%d&orderId=mine%d", i+1, i))
	}
	// A flood against unknown accounts, and more refused hits than a list
	// holds for another account, must not push this account's out.
	for i := range 300 {
		h.fire(fmt.Sprintf("nosuch%d", i), "webinarId=w1&amount=5")
	}
	for i := range rejectionsPerAccount + 50 {
		h.fire(other, fmt.Sprintf("webinarId=w1&amount=-1&orderId=theirs%d", i))
	}
	h.settle()

	mine := h.api("GET", "/accounts/"+h.acct+"/hits/rejected", nil, 200)["rejections"].([]any)
	if len(mine) != 3 {
		t.Fatalf("account's list has %d rejections, want its 3: %v", len(mine), mine)
	}
	for _, r := range mine {
		if r := r.(map[string]any); r["account"] != h.acct || r["reason"] != "invalid_amount" {
			t.Errorf("account's list holds %v", r)
		}
	}
	theirs := h.api("GET", "/accounts/"+other+"/hits/rejected", nil, 200)["rejections"].([]any)
	if len(theirs) != rejectionsPerAccount {
		t.Errorf("other account's list has %d rejections, want its last %d", len(theirs), rejectionsPerAccount)
	}
	if q := theirs[0].(map[string]any)["query"].(string); q != fmt.Sprintf("webinarId=w1&amount=-1&orderId=theirs%d", rejectionsPerAccount+49) {
		t.Errorf("newest rejection of the other account has query %q", q)
	}
	if got := h.api("GET", "/accounts/"+h.acct+"/hits/rejected?limit=2", nil, 200)["rejections"].([]any); len(got) != 2 {
		t.Errorf("limit=2 gave %d rejections", len(got))
	}

	// Unknown accounts: listed for the admin token only.
	unknown := h.api("GET", "/hits/rejected", nil, 200)["rejections"].([]any)
	if len(unknown) != 300 {
		t.Fatalf("admin list of unknown-account hits has %d, want 300", len(unknown))
	}
	if r := unknown[0].(map[string]any); r["account"] != "nosuch299" || r["reason"] != storage.ReasonUnknownAccount {
		t.Errorf("newest unknown-account rejection %v", r)
	}
	if got := h.api("GET", "/hits/rejected?limit=5000", nil, 200)["rejections"].([]any); len(got) != 300 {
		t.Errorf("limit=5000 (capped at %d) gave %d", maxRejectionsLimit, len(got))
	}
	h.api("GET", "/hits/rejected?limit=-1", nil, 400)
	h.api("GET", "/hits/rejected?limit=x", nil, 400)
	key := h.api("POST", "/accounts/"+h.acct+"/api-keys", map[string]any{"name": "k"}, 201)["key"].(string)
	req := httptest.NewRequest("GET", "/api/v1/hits/rejected", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp := h.do(req)
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 403 {
		t.Errorf("an account key read the unknown-account list: %d, want 403", resp.StatusCode)
	}
}

func TestRejectionLogIsBounded(t *testing.T) {
	l := newRejectionLog()
	for a := range rejectionAccounts + 1 {
		for i := range rejectionsPerAccount + 1 {
			l.add(&storage.Hit{Account: fmt.Sprintf("a%d", a), ID: fmt.Sprint(i), Reason: "invalid_amount"}, true)
		}
	}
	if got := len(l.byAccount); got != rejectionAccounts {
		t.Errorf("%d accounts kept, want at most %d", got, rejectionAccounts)
	}
	if got := l.recent("a0", maxRejectionsLimit); len(got) != 0 {
		t.Errorf("the least recently refused account was not forgotten: %d kept", len(got))
	}
	if got := l.recent("a1", maxRejectionsLimit); len(got) != rejectionsPerAccount {
		t.Errorf("an account keeps %d, want %d", len(got), rejectionsPerAccount)
	}
	for i := range unknownRejections + 10 {
		l.add(&storage.Hit{Account: fmt.Sprintf("x%d", i), Reason: reasonRateLimited}, false)
	}
	if got := l.recentUnknown(maxRejectionsLimit); len(got) != unknownRejections {
		t.Errorf("unknown list keeps %d, want %d", len(got), unknownRejections)
	}
}
