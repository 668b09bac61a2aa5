package storage

import (
	"reflect"
	"testing"
	"time"
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
	b := AppendHit(nil, &h)
	v2 := append([]byte{2}, b[1:len(b)-3]...) // version 3 appended two bools, version 4 one (no request)
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
	for _, bad := range [][]byte{nil, {2}, b[:len(b)-1], append(append([]byte{}, b...), 0)} {
		if _, err := DecodeHit(bad); err == nil {
			t.Errorf("DecodeHit(%d bytes) accepted damage", len(bad))
		}
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
