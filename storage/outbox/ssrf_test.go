package outbox_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/storage/outbox"
)

// With the guard on, loopback, link-local and non-http targets are refused
// before or at dial time, recorded as failed once, and never reached.
func TestSSRFGuardRefusesPrivateTargets(t *testing.T) {
	rc := newReceiver(t, status(http.StatusOK))
	port := rc.srv.URL[strings.LastIndex(rc.srv.URL, ":")+1:]
	cfg := testConfig(t)
	cfg.AllowPrivateTargets = false
	o := open(t, cfg, outbox.Deps{})
	start(t, o)

	for _, tc := range []struct{ name, url, wantErr string }{
		{"loopback v4", "http://127.0.0.1:" + port + "/pb",
			"destination 127.0.0.1 is loopback; set --allow-private-targets to allow it"},
		{"loopback v6", "http://[::1]:" + port + "/pb",
			"destination ::1 is loopback; set --allow-private-targets to allow it"},
		{"ipv4-mapped loopback", "http://[::ffff:127.0.0.1]:" + port + "/pb",
			"destination ::ffff:127.0.0.1 is loopback (IPv4-mapped); set --allow-private-targets to allow it"},
		{"cloud metadata", "http://169.254.169.254/latest/meta-data/",
			"destination 169.254.169.254 is link-local (cloud metadata service); set --allow-private-targets to allow it"},
		{"private", "http://10.1.2.3/", "destination 10.1.2.3 is private; set --allow-private-targets to allow it"},
		// A name is resolved, then the dialled address is refused.
		{"name resolving to loopback", "http://localhost:" + port + "/pb", "is loopback; set --allow-private-targets to allow it"},
		{"ftp", "ftp://127.0.0.1:" + port + "/file", `bad url: scheme "ftp" not allowed, only http and https`},
		{"no host", "http:///pb", "bad url: no host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := enqueue(t, o, outbox.Delivery{Account: "acct", Kind: outbox.KindPostback, URL: tc.url})
			d := waitFor(t, o, "acct", id, outbox.StatusFailed)
			if len(d.Attempts) != 1 || d.Attempts[0].Status != 0 || !strings.Contains(d.Attempts[0].Error, tc.wantErr) {
				t.Errorf("attempts = %+v, want one with error %q", d.Attempts, tc.wantErr)
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	if n := rc.count(); n != 0 {
		t.Errorf("receiver got %d requests, want 0", n)
	}
	if s := o.Stats(); s.Pending != 0 || s.Attempts != 8 {
		t.Errorf("Stats = %+v: a refused delivery was retried", s)
	}
}

// With AllowPrivateTargets the same loopback targets are delivered.
func TestAllowPrivateTargets(t *testing.T) {
	rc := newReceiver(t, status(http.StatusOK))
	port := rc.srv.URL[strings.LastIndex(rc.srv.URL, ":")+1:]
	o := open(t, testConfig(t), outbox.Deps{}) // AllowPrivateTargets: true
	start(t, o)
	for _, u := range []string{"http://127.0.0.1:" + port + "/pb", "http://localhost:" + port + "/pb"} {
		id := enqueue(t, o, outbox.Delivery{Account: "acct", Kind: outbox.KindPostback, URL: u})
		waitFor(t, o, "acct", id, outbox.StatusDelivered)
	}
	if n := rc.count(); n != 2 {
		t.Errorf("receiver got %d requests, want 2", n)
	}
}
