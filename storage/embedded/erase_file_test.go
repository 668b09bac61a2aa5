package embedded_test

import (
	"bytes"
	"os"
	"testing"
	"time"

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

// The tie between a person and a click they converted goes when the
// click is dropped (its window and grace over): nothing in the file keeps
// naming the click after that.
func TestClickTieIsDroppedWithTheClick(t *testing.T) {
	l, path := newLedger(t)
	const clickID = "0123456789abcdefghijklmnop" // a click id's 26 characters
	ann := "ann@example.com"
	apply(t, l,
		storage.Op{HitID: "k1", Account: "acct", Kind: storage.OpClick, Time: base, ClickID: clickID, CampaignID: "camp",
			ClickTTL: 24 * time.Hour, Currency: "USD", Access: &storage.ClickAccess{PixelConversions: true},
			Macros: map[string]string{"external_id": "ext-1"}},
		storage.Op{HitID: "p1", Account: "acct", Kind: storage.OpPostback, Time: base.Add(time.Minute), ClickID: clickID,
			TxID: "A1", ConvStatus: "approved", HasAmount: true, Amount: 1_000_000, Currency: "USD",
			Source: storage.SourcePixel, AttendeeEmail: ann},
	)
	// Ops dated past the click's window and grace drop it; past the hit
	// retention too, which drops the remembered result of the conversion
	// (it names the click).
	late := base.Add(storage.HitRetention + 3*24*time.Hour)
	apply(t, l, conv("late-1", "o-late", late))
	apply(t, l, conv("late-2", "o-late", late.Add(time.Minute)))
	// Another person's erasure overwrites the file's free pages.
	if _, err := l.EraseAttendee(t.Context(), "acct", "bob@example.com", late); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte(clickID)); n > 0 {
		t.Errorf("the ledger file names the dropped click %d times", n)
	}
	if er, err := l.EraseAttendee(t.Context(), "acct", ann, late); err != nil || len(er.ClickIDs) != 0 {
		t.Errorf("EraseAttendee after the click was dropped = %+v, %v; want no click named", er, err)
	}
}
