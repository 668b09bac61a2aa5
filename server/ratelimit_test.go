package server

import (
	"io"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// One address over its rate: the pixel still answers the GIF but counts
// nothing (listed as refused), a postback gets 429 with Retry-After; other
// addresses, private ones included, are not slowed; the bucket refills.
func TestRateLimitPerAddress(t *testing.T) {
	h := newHarness(t, embeddedLedger(t), "--trusted-proxies", "0.0.0.0", "--rate-limit", "5") // bursts of 20
	from := func(ip, path string) (int, string, string) {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("X-Forwarded-For", ip)
		resp := h.do(req)
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header.Get("Retry-After")
	}
	pixel := func(ip string, i int) int {
		code, body, _ := from(ip, "/v1/conversion/pixel/"+h.acct+"?webinarId=w1&amount=1&orderId=o"+ip+"-"+strings.Repeat("x", i))
		if code != 200 || len(body) != 43 {
			t.Fatalf("pixel from %s: %d, %d bytes", ip, code, len(body))
		}
		return code
	}
	for i := range 21 {
		pixel("203.0.113.7", i)
	}
	h.settle()
	if st := h.stats("w1"); st["sales"] != 20.0 {
		t.Errorf("sales from one address over its burst: %v, want 20", st["sales"])
	}
	assertRejected(t, h, reasonRateLimited)
	if code, body, retry := from("203.0.113.7", "/v1/postback/"+h.acct+"?cid=x"); code != 429 || body != "error=rate_limited" || retry != "1" {
		t.Errorf("postback over the rate: %d %q, Retry-After %q", code, body, retry)
	}
	for i := range 30 {
		pixel("198.51.100.9", i) // another address
		pixel("10.0.0.5", i)     // a private one: not limited
	}
	h.clock.add(time.Second) // 5 more tokens
	for i := range 5 {
		pixel("203.0.113.7", 100+i)
	}
	h.settle()
	if st := h.stats("w1"); st["sales"] != 20.0+20+30+5 {
		t.Errorf("sales: %v, want 75", st["sales"])
	}
}

// However many addresses come, the limiter keeps at most 64 × maxPerShard
// buckets: a full shard forgets its idle addresses, else lets newcomers
// through.
func TestRateLimiterMemoryIsBounded(t *testing.T) {
	l := newIPLimiter(1)
	now := time.Unix(1_700_000_000, 0)
	n := 0
	for a := 1; a <= 5; a++ {
		for b := range 256 {
			for c := range 256 {
				if !l.allow(netip.AddrFrom4([4]byte{byte(a), byte(b), byte(c), 1}), now) {
					t.Fatal("a new address was limited")
				}
				n++
			}
		}
	}
	tracked := 0
	for i := range l.shards {
		tracked += len(l.shards[i].buckets)
	}
	if tracked > len(l.shards)*maxPerShard || tracked < len(l.shards)*maxPerShard/2 {
		t.Errorf("%d addresses tracked after %d", tracked, n)
	}
	// Later, the idle ones make room: a flood from one new address is limited again.
	later := now.Add(time.Minute)
	limited := false
	for range 100 {
		limited = limited || !l.allow(netip.MustParseAddr("9.9.9.9"), later)
	}
	if !limited {
		t.Error("a flood was never limited once the shards were full")
	}
}
