package server

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/storage"
)

// The client behind trusted proxies is the rightmost X-Forwarded-For
// address that is not a trusted proxy (nginx real_ip_recursive on).
func TestForwardedClient(t *testing.T) {
	trusted := parseTrustedProxies([]string{"10.0.0.0/8", "192.0.2.1", "2001:db8:ffff::/48"})
	f := func(peer string, xff []string, want string) {
		t.Helper()
		var lines [][]byte
		for _, l := range xff {
			lines = append(lines, []byte(l))
		}
		got := forwardedClient(netip.MustParseAddr(peer), lines, trusted)
		if got.String() != want {
			t.Errorf("peer %s, X-Forwarded-For %q: client %s, want %s", peer, xff, got, want)
		}
	}
	f("203.0.113.5", []string{"6.6.6.6"}, "203.0.113.5")                            // untrusted peer: its header is ignored
	f("10.0.0.1", nil, "10.0.0.1")                                                  // trusted peer, no header: the peer
	f("10.0.0.1", []string{"203.0.113.5"}, "203.0.113.5")                           // one proxy
	f("10.0.0.1", []string{"6.6.6.6, 203.0.113.5"}, "203.0.113.5")                  // the client's own leftmost entry is not believed
	f("10.0.0.1", []string{"6.6.6.6, 203.0.113.5, 10.0.0.2"}, "203.0.113.5")        // two trusted proxies
	f("10.0.0.1", []string{"6.6.6.6, 203.0.113.5, 192.0.2.1"}, "203.0.113.5")       // a trusted single IP
	f("10.0.0.1", []string{"6.6.6.6, 192.0.2.2, 10.0.0.2"}, "192.0.2.2")            // a neighbour of a trusted IP is not trusted
	f("10.0.0.1", []string{"6.6.6.6", "203.0.113.5"}, "203.0.113.5")                // two header lines: one list, in order
	f("10.0.0.1", []string{"6.6.6.6, 203.0.113.5", "10.0.0.3"}, "203.0.113.5")      // two header lines, a proxy in the second
	f("10.0.0.1", []string{"10.0.0.7, 10.0.0.2"}, "10.0.0.7")                       // every hop trusted: the leftmost
	f("10.0.0.1", []string{"6.6.6.6, garbage"}, "10.0.0.1")                         // garbage ends the walk at the last trusted hop
	f("10.0.0.1", []string{"6.6.6.6, 203.0.113.5, garbage, 10.0.0.2"}, "10.0.0.2")  // garbage behind a trusted proxy
	f("10.0.0.1", []string{"6.6.6.6,, 203.0.113.5 ,"}, "203.0.113.5")               // empty entries and spaces
	f("10.0.0.1", []string{"203.0.113.5:4711"}, "203.0.113.5")                      // IPv4 with a port
	f("10.0.0.1", []string{"[2001:db8::7]:4711"}, "2001:db8::7")                    // IPv6 with a port
	f("10.0.0.1", []string{"::ffff:203.0.113.5"}, "203.0.113.5")                    // IPv4-mapped IPv6 is IPv4
	f("10.0.0.1", []string{"fe80::1%eth0"}, "fe80::1")                              // zones are dropped
	f("2001:db8:ffff::1", []string{"2001:db8::9, 2001:db8:ffff::2"}, "2001:db8::9") // IPv6 proxies
	f("10.0.0.1", []string{"unknown"}, "10.0.0.1")                                  // nginx's "unknown"
}

// Behind a trusted proxy, over real HTTP: the address a client writes
// leftmost in X-Forwarded-For chooses neither the network allow-list's
// verdict, nor the rate-limit bucket, nor the recorded IP.
func TestClientAddressBehindProxyEndToEnd(t *testing.T) {
	ch := clickHouse(t)
	h := newHarnessWith(t, Deps{Ledger: embeddedLedger(t), ClickHouse: ch},
		"--allow-private-targets", "--trusted-proxies", "127.0.0.1", "--keep-full-ip", "--rate-limit", "1") // bursts of 20
	base := h.serve()
	get := func(path, xff string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("X-Forwarded-For", xff)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	// The recorded IP is the one the proxy saw.
	if code, _ := get("/v1/conversion/pixel/"+h.acct+"?webinarId=w1&amount=1&orderId=ip-1", "6.6.6.6, 203.0.113.9"); code != 200 {
		t.Fatalf("pixel: %d", code)
	}
	h.settle()
	waitFor(t, "the pixel's row in ClickHouse", func() bool { return len(rowsOf(t, ch, h.acct)) == 1 })
	if ip := rowsOf(t, ch, h.acct)[0].IP; ip != "203.0.113.9" {
		t.Errorf("recorded IP %q, want 203.0.113.9 (the proxy's view), not the client's own 6.6.6.6", ip)
	}

	// A network allow-list believes the proxy, not the client.
	camp := h.s2s("http://127.0.0.1:9")
	h.api("PUT", "/accounts/"+h.acct+"/networks/net", map[string]any{"preset": "generic", "allow_ips": []string{"6.6.6.0/24"}}, 200)
	cid := h.clickThrough(camp, "external_id=E")
	if code, body := get(fmt.Sprintf("/v1/postback/%s/net?cid=%s&payout=1", h.acct, cid), "6.6.6.6, 198.51.100.7"); code != 403 || body != "error=ip_not_allowed" {
		t.Errorf("allow-listed address written by the client: %d %q, want 403 error=ip_not_allowed", code, body)
	}
	if code, body := get(fmt.Sprintf("/v1/postback/%s/net?cid=%s&payout=1", h.acct, cid), "198.51.100.7, 6.6.6.6"); code != 200 || body != "ok" {
		t.Errorf("allow-listed address seen by the proxy: %d %q, want 200 ok", code, body)
	}

	// A new leftmost address per request does not buy a new bucket.
	for i := range 25 {
		get(fmt.Sprintf("/v1/conversion/pixel/%s?webinarId=w2&amount=1&orderId=rl-%d", h.acct, i), fmt.Sprintf("6.6.%d.%d, 198.51.100.20", i, i))
	}
	limited := int(h.srv.metrics.count(storage.KindPixel, string(storage.StatusRejected), reasonRateLimited))
	if limited != 5 {
		t.Errorf("%d of 25 pixels from one address with spoofed leftmost entries were rate-limited, want 5 (burst 20)", limited)
	}
}

// IPv6 clients share a bucket per /64: a subscriber's many addresses are
// one client.
func TestRateLimitIPv6Per64(t *testing.T) {
	l := newIPLimiter(1) // bursts of 20
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 20 {
		a := netip.MustParseAddr(fmt.Sprintf("2001:db8:1:2:%x::1", i+1))
		if !l.allow(a, now) {
			t.Fatalf("request %d of the burst was limited", i)
		}
	}
	if l.allow(netip.MustParseAddr("2001:db8:1:2:ffff::1"), now) {
		t.Error("a 21st address of the same /64 got a fresh bucket")
	}
	if !l.allow(netip.MustParseAddr("2001:db8:1:3::1"), now) {
		t.Error("the next /64 was limited")
	}
	if strings.Contains(bucketKey(netip.MustParseAddr("203.0.113.7")).String(), ":") {
		t.Error("an IPv4 address was keyed as IPv6")
	}
}
