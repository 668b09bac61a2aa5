package pipeline

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

func sha(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

// rowsLogHolds reports the files of the rows log that contain s.
func rowsLogHolds(t *testing.T, dir, s string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(RowsDir(dir), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte(s)) {
			found = append(found, filepath.Base(path))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// EraseRows takes the person's rows out of the rows log and strips the
// rows of the click they converted (found in their conversion row), in
// place: other rows stay as they were, the log reads on, and no file of
// it names the person or the click's macros any more.
func TestEraseRowsTakesThePersonOut(t *testing.T) {
	l := embeddedLedger(t)
	acct := account(t, l)
	dir := t.TempDir()
	p := start(t, dir, l, Config{})
	ann, bob := "ann@example.com", "bob@example.com"
	yes := true
	click := func(id, ext string) *storage.Hit {
		return &storage.Hit{ID: "click-" + id, Time: t0, Account: acct, Kind: storage.KindClick, ClickID: id, CampaignID: "camp",
			Macros: map[string]string{"external_id": ext, "zone_id": "42"}, ClickTTL: 24 * time.Hour, Currency: "USD",
			Cost: 2000, PixelConversions: &yes, IP: "203.0.113.0", UserAgent: "UA-" + ext, Query: "external_id=" + ext}
	}
	pixel := func(id, email string) *storage.Hit {
		return &storage.Hit{ID: "pixel-" + id, Time: t0.Add(time.Minute), Account: acct, Kind: storage.KindPostback,
			Source: storage.SourcePixel, ClickID: id, TxID: "o-" + id, Goal: "default", ConvStatus: "approved",
			HasAmount: true, Amount: 5 * attribution.MicrosPerUnit, Currency: "USD", Email: email, EmailSHA256: sha(email)}
	}
	purchase := sale(acct, 1)
	purchase.Email, purchase.EmailSHA256 = ann, sha(ann)
	network := &storage.Hit{ID: "network-1", Time: t0.Add(2 * time.Minute), Account: acct, Kind: storage.KindPostback,
		ClickID: "c-ann", TxID: "t-late", ConvStatus: "approved", HasAmount: true, Amount: attribution.MicrosPerUnit, Currency: "USD"}
	for _, h := range []*storage.Hit{click("c-ann", "EXT-ANN"), click("c-bob", "EXT-BOB"), pixel("c-ann", ann), pixel("c-bob", bob), purchase, network} {
		if err := p.Record(h); err != nil {
			t.Fatal(err)
		}
		p.sync(t) // one after the other: the conversions find their clicks
	}
	annID := attribution.EmailAttendeeID(ann)
	for _, s := range []string{annID, sha(ann), "EXT-ANN"} {
		if len(rowsLogHolds(t, dir, s)) == 0 {
			t.Fatalf("the rows log does not hold %q before the erasure: the test proves nothing", s)
		}
	}
	e := &storage.RowErasure{Account: acct, AttendeeID: annID, EmailSHA256: sha(ann), At: t0.Add(time.Hour)}
	st, err := p.EraseRows(e)
	if err != nil {
		t.Fatalf("EraseRows: %v", err)
	}
	if st.Erased != 2 || st.Replaced != 2 || !e.ClickIDs["c-ann"] || len(e.ClickIDs) != 1 {
		t.Errorf("EraseRows = %+v, clicks %v; want 2 rows erased, 2 stripped, click c-ann found", st, e.ClickIDs)
	}
	byID := map[string]storage.Hit{}
	for _, h := range rows(t, p.Rows()) {
		byID[h.ID] = h
	}
	if len(byID) != 4 || byID["pixel-c-ann"].ID != "" || byID[purchase.ID].ID != "" {
		t.Errorf("rows after the erasure: %v", byID)
	}
	for _, id := range []string{"click-c-ann", "network-1"} {
		h := byID[id]
		if h.Macros != nil || h.IP != "" || h.UserAgent != "" || h.Query != "" || h.CampaignID != "camp" {
			t.Errorf("row %s of the person's click: %+v; want no macros, IP, user agent or query, its campaign kept", id, h)
		}
	}
	if c := byID["click-c-ann"]; c.Cost != 2000 || c.ClickTTL != 24*time.Hour {
		t.Errorf("the stripped click lost its cost or window: %+v", c)
	}
	if n := byID["network-1"]; n.Status != storage.StatusAccepted || n.Amount != attribution.MicrosPerUnit {
		t.Errorf("the stripped conversion lost its status or value: %+v", n)
	}
	if b := byID["click-c-bob"]; b.Macros["external_id"] != "EXT-BOB" || b.UserAgent != "UA-EXT-BOB" {
		t.Errorf("another person's click changed: %+v", b)
	}
	if b := byID["pixel-c-bob"]; b.AttendeeID != attribution.EmailAttendeeID(bob) || b.Macros["external_id"] != "EXT-BOB" {
		t.Errorf("another person's conversion changed: %+v", b)
	}
	for _, s := range []string{annID, sha(ann), "EXT-ANN"} {
		if files := rowsLogHolds(t, dir, s); len(files) != 0 {
			t.Errorf("the rows log holds %q after the erasure, in %v", s, files)
		}
	}
	// Sent again, it finds nothing more to change.
	if st, err := p.EraseRows(e); err != nil || st.Erased != 0 || st.Replaced != 0 {
		t.Errorf("EraseRows again: %+v, %v", st, err)
	}
	// The log goes on, and reopens.
	if err := p.Record(sale(acct, 2)); err != nil {
		t.Fatal(err)
	}
	p.sync(t)
	p.stop()
	p = start(t, dir, l, Config{})
	if got := len(rows(t, p.Rows())); got != 5 {
		t.Errorf("%d rows after reopening, want 5", got)
	}
}
