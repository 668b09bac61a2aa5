package storage

import (
	"reflect"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
)

func sampleHit() Hit {
	return Hit{
		ID: "0123456789abcdefghijklmnop", Time: time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC),
		Account: "acme", Kind: KindPixel, Status: StatusUpdated, Reason: "",
		Webinars: []string{"w1", "w2"}, Tags: []string{"course_sales"},
		OrderID: "A-1", OrderKey: "o:A-1", HasAmount: true, Amount: 49_990_000, Currency: "USD",
		ProductID: "p1", ProductName: "Cours — été", Source: "pixel",
		Email: "ann@example.com", CookieID: "ck", Delta: -10_000_000, Credited: []string{},
		AttendeeID: "e_1", EmailSHA256: "ab", ClickID: "c", CampaignID: "k",
		IP: "203.0.113.0", UserAgent: "UA", Referer: "https://x/", Query: "amount=49.99",
		Macros: map[string]string{"zone_id": "42", "country": "FR"}, ClickTTL: time.Hour, Cost: 1500,
		TxID: "tx1", Goal: "sale", ConvStatus: "approved", RawStatus: "1", SourceID: "exo", NetworkID: "net",
		Valuation:        &Valuation{Goals: map[string]GoalDoc{"sale": {Type: "fixed", Value: "2000000"}}},
		Profile:          map[string]string{"name": "Ann"},
		PixelConversions: func() *bool { v := true; return &v }(),
		Log:              "9f3c2a1b0d4e5f60", Pos: 123456,
	}
}

func TestHitCodecRoundTrip(t *testing.T) {
	for name, h := range map[string]Hit{
		"full":              sampleHit(),
		"empty":             {Time: time.Unix(0, 0).UTC()},
		"credited nil":      func() Hit { h := sampleHit(); h.Credited = nil; return h }(),
		"credited webinars": func() Hit { h := sampleHit(); h.Credited = []string{"w1"}; return h }(),
		"deferred": func() Hit {
			h := sampleHit()
			h.Status, h.Deferred = "", &Request{Method: "POST", Query: "cid=x&secret=s", ContentType: "application/json",
				Body: `{"payout":"1.50"}`, ClientAddr: "203.0.113.7", AttendeeCookie: "aid", ClickCookie: "cid", Endpoint: "card"}
			return h
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			got, err := DecodeHit(AppendHit(nil, &h))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, h) {
				t.Fatalf("round trip:\n got  %+v\n want %+v", got, h)
			}
		})
	}
}

// TestDecodeHitVersion2HasUnknownClickAccess: a click logged by an earlier
// build (version 2) decodes without PixelConversions, so its op carries no
// Access and the ledger resolves it from the campaign (ClickRec.Access).
func TestDecodeHitVersion2HasUnknownClickAccess(t *testing.T) {
	h := sampleHit()
	h.Kind = KindClick
	h.Log, h.Pos = "", 0
	b := AppendHit(nil, &h)
	v2 := append([]byte{2}, b[1:len(b)-5]...) // version 3 appended two bools, version 4 "" and 0, version 5 one bool (no request)
	got, err := DecodeHit(v2)
	if err != nil {
		t.Fatal(err)
	}
	if got.PixelConversions != nil {
		t.Fatalf("version 2 hit has PixelConversions %v, want unknown", *got.PixelConversions)
	}
	if op := got.Op(); op.Access != nil {
		t.Fatalf("op of a version 2 click has Access %+v, want nil", op.Access)
	}
	if op := h.Op(); op.Access == nil || op.Access.NetworkID != "net" || !op.Access.PixelConversions {
		t.Fatalf("op of a version 3 click has Access %+v, want network net, pixel conversions on", op.Access)
	}
}

func TestDecodeHitRejectsDamage(t *testing.T) {
	h := sampleHit()
	b := AppendHit(nil, &h)
	for _, bad := range [][]byte{nil, {2}, b[:len(b)-1], append(append([]byte{}, b...), 1), append(append([]byte{}, b...), 0, 0, 7)} {
		if _, err := DecodeHit(bad); err == nil {
			t.Errorf("DecodeHit(%d bytes) accepted damage", len(bad))
		}
	}
}

// A record shortened in place (an erasure rewriting the rows log) is
// followed by zero bytes up to its old length: they are padding.
func TestDecodeHitIgnoresZeroPadding(t *testing.T) {
	h := sampleHit()
	padded := append(AppendHit(nil, &h), make([]byte, 40)...)
	got, err := DecodeHit(padded)
	if err != nil || !reflect.DeepEqual(got, h) {
		t.Errorf("DecodeHit of a padded record: %+v, %v; want %+v", got, err, h)
	}
}

// FuzzDecodeHit: any bytes decode or fail cleanly, and what decodes
// re-encodes to the same bytes.
func FuzzDecodeHit(f *testing.F) {
	h := sampleHit()
	b := AppendHit(nil, &h)
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeHit(data)
		if err != nil {
			return
		}
		again, err := DecodeHit(AppendHit(nil, &got))
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("re-encoding changed the hit: %v", err)
		}
	})
}

func TestResultCodecKeepsTheConversion(t *testing.T) {
	r := Result{Status: StatusUpdated, Delta: -5, AttendeeID: "a", Credited: []string{"w"},
		Conversion: &Conversion{ClickID: "c", CampaignID: "k", Macros: map[string]string{"zone_id": "1"},
			Status: "declined", PrevStatus: "approved", Value: 5, PrevValue: 5, Currency: "USD"}}
	got, err := DecodeResult(AppendResult(nil, &r))
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("round trip: %+v, %v; want %+v", got, err, r)
	}
}

// The rows log keeps what ClickHouse keeps: no email, cookie id or
// profile, macros redacted by RedactQuery's rule; the hit itself, which
// webhooks still read, is unchanged.
func TestArchivedHitHoldsNoPlaintext(t *testing.T) {
	h := Hit{ID: "h1", Email: "ann@example.com", EmailSHA256: "abc", CookieID: "ck", AttendeeID: "e_1",
		Profile: map[string]string{"name": "Ann"}, Macros: map[string]string{"zone_id": "7", "email": "ann@example.com", "u": "x@y.z"},
		Deferred: &Request{Query: "email=ann@example.com&secret=s3cret"}}
	a := h.Archived()
	if a.Email != "" || a.CookieID != "" || a.Profile != nil || a.Deferred != nil || a.EmailSHA256 != "abc" || a.AttendeeID != "e_1" {
		t.Errorf("archived hit %+v", a)
	}
	if a.Macros["zone_id"] != "7" || a.Macros["email"] != "REDACTED" || a.Macros["u"] != "REDACTED" {
		t.Errorf("archived macros %v", a.Macros)
	}
	if h.Email == "" || h.Profile == nil || h.Macros["email"] != "ann@example.com" {
		t.Errorf("Archived changed the hit: %+v", h)
	}
	got, err := DecodeHit(AppendHit(nil, &a))
	if err != nil || got.Email != "" || got.Profile != nil {
		t.Errorf("decoded archive %+v %v", got, err)
	}
}

// pixelHit is a conversion pixel hit as the server records it: no macros,
// no profile, no valuation.
func pixelHit() Hit {
	return Hit{
		ID: "0123456789abcdefghijklmnop", Time: time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC),
		Account: "acme", Kind: KindPixel, Webinars: []string{"w1"},
		OrderID: "A-1", OrderKey: "o:A-1", HasAmount: true, Amount: 49_990_000, Currency: "USD", Source: "pixel",
		Email: "ann@example.com", EmailSHA256: "5f0c0bc7a1e9d2c2e8b9f3d7f1c2a4b6e8d0f2a4c6e8b0d2f4a6c8e0b2d4f6a8",
		IP: "203.0.113.0", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", Referer: "https://shop.example.com/thanks",
		Query: "webinarId=w1&email=REDACTED&amount=49.99&orderId=A-1",
	}
}

// Encoding a hit allocates nothing when dst has room: every hit is encoded
// twice on the hot path (hits log, rows log).
func TestAppendHitDoesNotAllocate(t *testing.T) {
	h := pixelHit()
	dst := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() { dst = AppendHit(dst[:0], &h) }); n != 0 {
		t.Fatalf("AppendHit: %.0f allocations per hit, want 0", n)
	}
}

func BenchmarkAppendHit(b *testing.B) {
	h := pixelHit()
	dst := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendHit(dst[:0], &h)
	}
}

func BenchmarkDecodeHit(b *testing.B) {
	h := pixelHit()
	rec := AppendHit(nil, &h)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeHit(rec); err != nil {
			b.Fatal(err)
		}
	}
}

// The ledger derives an email's attendee id from the hash the hit carries
// (the server hashes each email once), and hashes the email itself only
// when the op has no hash (ops built without a hit, rows of older logs).
func TestOpEmailAttendeeIDUsesTheHitsHash(t *testing.T) {
	email := "ann@example.com"
	h := Hit{ID: "h1", Email: email, EmailSHA256: attribution.EmailSHA256(email)}
	op := h.Op()
	if op.AttendeeEmailSHA256 != h.EmailSHA256 {
		t.Fatalf("op hash %q, want the hit's %q", op.AttendeeEmailSHA256, h.EmailSHA256)
	}
	want := attribution.EmailAttendeeID(email)
	if got := op.EmailAttendeeID(); got != want {
		t.Fatalf("attendee %q, want %q", got, want)
	}
	// From the hash: one allocation (the id), no hashing (which allocates
	// the hex digest too).
	if n := testing.AllocsPerRun(100, func() { _ = op.EmailAttendeeID() }); n != 1 {
		t.Errorf("EmailAttendeeID with the hash: %.0f allocations, want 1 (no hashing)", n)
	}
	for _, sum := range []string{"", "sha-a1"} { // no hash, or not one: hashed
		op.AttendeeEmailSHA256 = sum
		if got := op.EmailAttendeeID(); got != want {
			t.Errorf("hash %q: attendee %q, want %q", sum, got, want)
		}
	}
	if got := (&Op{}).EmailAttendeeID(); got != "" {
		t.Errorf("no email: attendee %q", got)
	}
}

// BenchmarkOpEmailAttendeeID: the ledger's attendee id from the hit's hash
// against hashing the email again (what every op did before).
func BenchmarkOpEmailAttendeeID(b *testing.B) {
	email := "ann@example.com"
	for name, sum := range map[string]string{"hash": attribution.EmailSHA256(email), "email": ""} {
		b.Run(name, func(b *testing.B) {
			op := Op{AttendeeEmail: email, AttendeeEmailSHA256: sum}
			b.ReportAllocs()
			for b.Loop() {
				_ = op.EmailAttendeeID()
			}
		})
	}
}
