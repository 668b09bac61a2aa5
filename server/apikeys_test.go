package server

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// An account key opens its own account's API (what the dashboard calls),
// never another account's, and manages nothing; deleted, it opens nothing.
func TestAccountAPIKeys(t *testing.T) {
	h := newHarness(t, embeddedLedger(t))
	other := uniqueAccount()
	h.api("PUT", "/accounts/"+other, map[string]any{"name": "Other", "default_currency": "EUR"}, 200)
	a := "/accounts/" + h.acct
	made := h.api("POST", a+"/api-keys", map[string]any{"name": "client dashboard"}, 201)
	key, _ := made["key"].(string)
	if !strings.HasPrefix(key, "ppk_") || len(key) < 30 {
		t.Fatalf("key %q", key)
	}
	list := h.api("GET", a+"/api-keys", nil, 200)["api_keys"].([]any)
	if len(list) != 1 || strings.Contains(list[0].(map[string]any)["key"].(string), key[4:20]) ||
		list[0].(map[string]any)["key"] != "ppk_****"+key[len(key)-4:] {
		t.Errorf("listed keys %v", list)
	}

	with := func(method, path, body string) int {
		t.Helper()
		req := httptest.NewRequest(method, "/api/v1"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp := h.do(req)
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	for _, c := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", a, "", 200},
		{"PUT", a + "/webinars/w1", `{"name":"Launch"}`, 200},
		{"GET", a + "/webinars/w1/stats", "", 200},
		{"GET", "/accounts/" + other, "", 401},
		{"GET", "/accounts/" + other + "/webinars", "", 401},
		{"GET", "/accounts/no-such-account", "", 401},
		{"PUT", a, `{"name":"x","default_currency":"USD"}`, 403},
		{"PUT", "/accounts/new-one", `{"name":"x","default_currency":"USD"}`, 403},
		{"POST", a + "/api-keys", `{"name":"more"}`, 403},
		{"GET", a + "/api-keys", "", 403},
	} {
		if got := with(c.method, c.path, c.body); got != c.want {
			t.Errorf("%s %s with an account key: %d, want %d", c.method, c.path, got, c.want)
		}
	}
	h.api("DELETE", a+"/api-keys/"+made["id"].(string), nil, 200)
	if got := with("GET", a, ""); got != 401 {
		t.Errorf("a deleted key: %d, want 401", got)
	}

	// A read key reads, and changes nothing.
	made = h.api("POST", a+"/api-keys", map[string]any{"name": "reports", "role": "read"}, 201)
	key = made["key"].(string)
	if got := with("GET", a+"/webinars/w1/stats", ""); got != 200 {
		t.Errorf("a read key reading: %d", got)
	}
	if got := with("PUT", a+"/webinars/w2", `{"name":"x"}`); got != 403 {
		t.Errorf("a read key writing: %d, want 403", got)
	}
	if got := with("DELETE", a+"/attendees/ann@example.com", ""); got != 403 {
		t.Errorf("a read key erasing: %d, want 403", got)
	}
	h.api("POST", a+"/api-keys", map[string]any{"role": "owner"}, 400)
}
