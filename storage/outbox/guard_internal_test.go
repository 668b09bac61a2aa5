package outbox

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestBlockedReason(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"127.0.0.1", "loopback"},
		{"127.255.0.9", "loopback"},
		{"::1", "loopback"},
		{"10.0.0.1", "private"},
		{"172.16.5.4", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"fc00::1", "private"},
		{"fd12:3456::1", "private"},
		{"169.254.169.254", "link-local (cloud metadata service)"},
		{"169.254.1.1", "link-local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"0.0.0.0", "unspecified"},
		{"::", "unspecified"},
		{"0.1.2.3", "unspecified (0.0.0.0/8)"},
		{"224.0.0.1", "multicast"},
		{"239.1.2.3", "multicast"},
		{"ff02::1", "multicast"},
		{"100.64.0.1", "shared address space (CGNAT)"},
		{"100.127.255.254", "shared address space (CGNAT)"},
		{"255.255.255.255", "reserved or broadcast"},
		{"::ffff:127.0.0.1", "loopback (IPv4-mapped)"},
		{"::ffff:10.1.1.1", "private (IPv4-mapped)"},
		{"::ffff:169.254.169.254", "link-local (cloud metadata service) (IPv4-mapped)"},
		{"64:ff9b::7f00:1", "loopback (NAT64)"},
		// Public.
		{"8.8.8.8", ""},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"172.32.0.1", ""},
		{"2606:4700::1111", ""},
		{"::ffff:8.8.8.8", ""},
		{"64:ff9b::808:808", ""},
	} {
		if got := blockedReason(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("blockedReason(%s) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		url          string
		allowPrivate bool
		want         error // nil, ErrBadURL or ErrBlocked
	}{
		{"https://s.magsrv.com/tag.php?goal=1&tag=abc", false, nil},
		{"http://example.com:8080/x", false, nil},
		{"HTTPS://Example.com/", false, nil},
		{"http://localhost:8080/", false, nil}, // names: the dial-time guard
		{"http://8.8.8.8/", false, nil},
		{"http://127.0.0.1/", false, ErrBlocked},
		{"http://127.0.0.1/", true, nil},
		{"http://[::1]:80/", false, ErrBlocked},
		{"http://[::ffff:7f00:1]/", false, ErrBlocked},
		{"http://[fe80::1%25eth0]/", false, ErrBlocked},
		{"http://169.254.169.254/latest", false, ErrBlocked},
		{"http://100.64.1.1/", false, ErrBlocked},
		{"http://0.0.0.0:80/", false, ErrBlocked},
		{"ftp://example.com/f", false, ErrBadURL},
		{"ftp://example.com/f", true, ErrBadURL},
		{"file:///etc/passwd", true, ErrBadURL},
		{"gopher://example.com/", false, ErrBadURL},
		{"javascript:alert(1)", false, ErrBadURL},
		{"http://", false, ErrBadURL},
		{"http:///path", false, ErrBadURL},
		{"example.com/x", false, ErrBadURL},
		{"http://exa mple.com/", false, ErrBadURL},
		{"", false, ErrBadURL},
	} {
		err := CheckURL(tc.url, tc.allowPrivate)
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("CheckURL(%q, %v) = %v, want %v", tc.url, tc.allowPrivate, err, tc.want)
		}
	}
	var be *BlockedError
	if err := CheckURL("http://127.0.0.1:9/", false); !errors.As(err, &be) ||
		err.Error() != "destination 127.0.0.1 is loopback; set --allow-private-targets to allow it" {
		t.Errorf("CheckURL error = %v", err)
	}
}

// The guard is in the dialer: a request that skips CheckURL (a name or a
// redirect would) is still refused when the address dialled is loopback.
func TestDialGuard(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	for _, allow := range []bool{false, true} {
		tr, c := newClient(Config{Timeout: 2 * time.Second, Workers: 1, AllowPrivateTargets: allow})
		resp, err := c.Get(srv.URL)
		if resp != nil {
			resp.Body.Close()
		}
		tr.CloseIdleConnections()
		var be *BlockedError
		switch {
		case allow && err != nil:
			t.Errorf("allowed: %v", err)
		case !allow && (!errors.As(err, &be) || be.Dest != "127.0.0.1" || be.Reason != "loopback"):
			t.Errorf("guarded: err = %v, want a BlockedError for 127.0.0.1", err)
		}
	}
}

func TestFullJitter(t *testing.T) {
	for _, tc := range []struct {
		n    int
		ceil time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {4, 8 * time.Second}, {13, time.Hour}, {100, time.Hour}, {0, time.Second}} {
		for range 200 {
			if d := fullJitter(tc.n, time.Second, time.Hour); d < 0 || d > tc.ceil {
				t.Fatalf("fullJitter(%d) = %s, want within [0, %s]", tc.n, d, tc.ceil)
			}
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
	}{
		{"", 0}, {"120", 2 * time.Minute}, {"0", 0}, {"-5", 0}, {"soon", 0},
		{"Mon, 10 Mar 2025 12:00:30 GMT", 30 * time.Second},
		{"Mon, 10 Mar 2025 11:00:00 GMT", 0},
	} {
		if got := RetryAfter(tc.v, now); got != tc.want {
			t.Errorf("RetryAfter(%q) = %s, want %s", tc.v, got, tc.want)
		}
	}
}

// Ids strictly increase, within a millisecond and when the clock steps back.
func TestIDsIncrease(t *testing.T) {
	var g idGen
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	prev := g.next(now)
	for i, at := range []time.Time{now, now, now.Add(-time.Hour), now.Add(time.Millisecond), now.Add(time.Hour)} {
		id := g.next(at)
		if len(id) != 26 || id <= prev {
			t.Fatalf("id %d = %q after %q", i, id, prev)
		}
		prev = id
	}
}
