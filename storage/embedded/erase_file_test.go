package embedded_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/pixelpost/pixelpost/storage"
)

// After an erasure the ledger file holds no byte of the person's email or
// profile: bolt leaves old copies of a changed page in free pages, which
// the erasure overwrites (see EraseAttendee).
func TestErasureLeavesNoPlaintextInTheFile(t *testing.T) {
	l, path := newLedger(t)
	email := "ann.lovelace@example.com"
	profile := map[string]string{"name": "Ann Lovelace", "phone": "15550100777", "screen_name": "annlovelace"}
	apply(t, l,
		storage.Op{HitID: "r1", Account: "acct", Kind: storage.OpRegistration, Time: base, Webinars: []string{"w1"},
			AttendeeEmail: email, CookieID: "ck-ann", Profile: profile},
		storage.Op{HitID: "l1", Account: "acct", Kind: storage.OpLead, Time: base, AttendeeEmail: email, Profile: profile},
		storage.Op{HitID: "c1", Account: "acct", Kind: storage.OpConversion, Time: base, AttendeeEmail: email,
			Webinars: []string{"w1"}, OrderKey: "o:A1", OrderID: "A1", HasAmount: true, Amount: 10_000_000, Currency: "USD"},
	)
	// Others keep the file busy, as in production.
	for i := range 50 {
		apply(t, l, conv("other-"+string(rune('a'+i%26))+string(rune('a'+i/26)), "o:other", base))
	}
	if _, err := l.EraseAttendee(t.Context(), "acct", email, base.Add(1)); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{email, "Lovelace", "15550100777", "annlovelace", "ck-ann"} {
		if n := bytes.Count(b, []byte(s)); n > 0 {
			t.Errorf("the ledger file holds %q %d times after the erasure", s, n)
		}
	}
}
