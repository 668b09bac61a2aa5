package attribution

import (
	"net/netip"
	"regexp"
	"testing"
	"time"
)

func TestOrderKey(t *testing.T) {
	base := OrderKeyInput{
		Webinars: []string{"4429", "2527"}, Tags: []string{"vip"},
		Amount: 49_990_000, Currency: "USD", IP: netip.MustParseAddr("203.0.113.7"), UserAgent: "Mozilla/5.0",
	}
	with := func(f func(*OrderKeyInput)) OrderKeyInput {
		in := base
		f(&in)
		return in
	}
	tests := []struct {
		name       string
		in         OrderKeyInput
		wantKey    string
		wantWindow time.Duration
	}{
		{"order id wins", with(func(in *OrderKeyInput) { in.OrderID = "A-1001"; in.AttendeeID = "e_1" }), "o:A-1001", 0},
		{"attendee and set", with(func(in *OrderKeyInput) { in.AttendeeID = "e_1" }), "a:e_1|#vip,2527,4429", 0},
		{"attendee without webinars", OrderKeyInput{AttendeeID: "c_x", Amount: 5}, "a:c_x|", 0},
		{"attendee set deduped", OrderKeyInput{AttendeeID: "e_1", Webinars: []string{"b", "a", "b"}, Tags: []string{"t", "t"}}, "a:e_1|#t,a,b", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, window := OrderKey(tt.in)
			if key != tt.wantKey || window != tt.wantWindow {
				t.Errorf("OrderKey = %q, %v; want %q, %v", key, window, tt.wantKey, tt.wantWindow)
			}
		})
	}
}

func TestOrderKeyEquivalence(t *testing.T) {
	attendee := OrderKeyInput{AttendeeID: "e_1", Webinars: []string{"a", "b"}, Tags: []string{"t"}}
	fp := OrderKeyInput{Webinars: []string{"a", "b"}, Tags: []string{"t"}, Amount: 1_000_000, Currency: "USD", IP: netip.MustParseAddr("203.0.113.7"), UserAgent: "UA"}
	tests := []struct {
		name string
		a, b OrderKeyInput
		same bool
	}{
		{"attendee: webinar order does not matter", attendee,
			OrderKeyInput{AttendeeID: "e_1", Webinars: []string{"b", "a"}, Tags: []string{"t"}}, true},
		{"attendee: repeats do not matter", attendee,
			OrderKeyInput{AttendeeID: "e_1", Webinars: []string{"a", "b", "a"}, Tags: []string{"t", "t"}}, true},
		{"attendee: amount does not matter", attendee,
			OrderKeyInput{AttendeeID: "e_1", Webinars: []string{"a", "b"}, Tags: []string{"t"}, Amount: 9}, true},
		{"attendee: a tag is not a webinar", OrderKeyInput{AttendeeID: "e_1", Webinars: []string{"x"}},
			OrderKeyInput{AttendeeID: "e_1", Tags: []string{"x"}}, false},
		{"attendee: another attendee", attendee,
			OrderKeyInput{AttendeeID: "e_2", Webinars: []string{"a", "b"}, Tags: []string{"t"}}, false},
		{"attendee: another set", attendee,
			OrderKeyInput{AttendeeID: "e_1", Webinars: []string{"a"}, Tags: []string{"t"}}, false},
		{"fingerprint: stable", fp, fp, true},
		{"fingerprint: webinar order does not matter", fp, withFP(fp, func(in *OrderKeyInput) { in.Webinars = []string{"b", "a"} }), true},
		{"fingerprint: another ip", fp, withFP(fp, func(in *OrderKeyInput) { in.IP = netip.MustParseAddr("203.0.113.8") }), false},
		{"fingerprint: another user agent", fp, withFP(fp, func(in *OrderKeyInput) { in.UserAgent = "UA2" }), false},
		{"fingerprint: another amount", fp, withFP(fp, func(in *OrderKeyInput) { in.Amount = 2_000_000 }), false},
		{"fingerprint: another currency", fp, withFP(fp, func(in *OrderKeyInput) { in.Currency = "EUR" }), false},
		{"fingerprint: another set", fp, withFP(fp, func(in *OrderKeyInput) { in.Webinars = []string{"a"} }), false},
		{"fingerprint: a tag is not a webinar", withFP(fp, func(in *OrderKeyInput) { in.Webinars, in.Tags = []string{"x"}, nil }),
			withFP(fp, func(in *OrderKeyInput) { in.Webinars, in.Tags = nil, []string{"x"} }), false},
		{"fingerprint: field boundaries are unambiguous", withFP(fp, func(in *OrderKeyInput) { in.IP, in.UserAgent = netip.MustParseAddr("1.2.3.4"), "5" }),
			withFP(fp, func(in *OrderKeyInput) { in.IP, in.UserAgent = netip.MustParseAddr("1.2.3.45"), "" }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ka, _ := OrderKey(tt.a)
			kb, _ := OrderKey(tt.b)
			if (ka == kb) != tt.same {
				t.Errorf("keys %q and %q: same = %v, want %v", ka, kb, ka == kb, tt.same)
			}
		})
	}
}

func withFP(in OrderKeyInput, f func(*OrderKeyInput)) OrderKeyInput {
	f(&in)
	return in
}

func TestOrderKeyFingerprint(t *testing.T) {
	key, window := OrderKey(OrderKeyInput{Webinars: []string{"4429"}, Amount: 1, Currency: "USD", IP: netip.IPv6Loopback(), UserAgent: "curl"})
	if !regexp.MustCompile(`^f:[0-9a-f]{32}$`).MatchString(key) {
		t.Errorf("fingerprint key %q is not f: and 32 hex digits", key)
	}
	if window != FingerprintWindow || FingerprintWindow != 30*time.Minute {
		t.Errorf("window = %v, want 30m", window)
	}
}

// A fingerprint does not change across releases: an order seen before an
// upgrade and refreshed after it is the same order. The keys are those the
// release that passed the address as text derived.
func TestOrderKeyFingerprintIsStable(t *testing.T) {
	f := func(ip netip.Addr, want string) {
		t.Helper()
		key, _ := OrderKey(OrderKeyInput{Webinars: []string{"4429"}, Tags: []string{"vip"}, Amount: 49_990_000,
			Currency: "USD", IP: ip, UserAgent: "Mozilla/5.0"})
		if key != want {
			t.Errorf("%v: key %s, want %s", ip, key, want)
		}
	}
	f(netip.MustParseAddr("203.0.113.7"), "f:1bb2af11089c14a1cf7ed52c2ec86677")
	f(netip.MustParseAddr("2001:db8::1"), "f:46774108bb2fda990a96a5e712f1c0de")
	f(netip.Addr{}, "f:aacd4f335ade2c65aa52bfd6c16865ec") // no address
}

// The email's attendee id from its hash is the one from the email.
func TestAttendeeIDOfEmailSHA256(t *testing.T) {
	email := "ann@example.com"
	if got, want := AttendeeIDOfEmailSHA256(EmailSHA256(email)), EmailAttendeeID(email); got != want || len(got) != 26 {
		t.Fatalf("from the hash %q, from the email %q", got, want)
	}
}
