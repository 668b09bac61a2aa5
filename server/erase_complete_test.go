package server

import (
	"bytes"
	"context"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/embedded"
	"github.com/pixelpost/pixelpost/storage/reconcile"
)

// A person erased on the embedded default, before --clickhouse-dsn is
// added: their rows waiting in the rows log are never shipped, and
// reconcile from ClickHouse then finds no difference.
func TestErasedRowsAreNotShippedWhenClickHouseIsAddedLater(t *testing.T) {
	ledger := embeddedLedger(t)
	dataDir := t.TempDir()
	first := newHarness(t, ledger, "--data-dir", dataDir)
	ann, bob := "ann@example.com", "bob@example.com"
	first.pixelReq(httptestGet("/v1/attendee/pixel/" + first.acct + "?webinarId=w1&email=" + ann))
	first.pixel("webinarId=w1&email=" + ann + "&amount=50&orderId=A1")
	first.pixel("webinarId=w1&email=" + bob + "&amount=30&orderId=B1")
	first.clock.add(time.Minute)
	first.api("DELETE", "/accounts/"+first.acct+"/attendees/"+ann, nil, 200)
	first.srv.Close()

	ch := clickHouse(t)
	second := newHarnessWith(t, Deps{Ledger: ledger, ClickHouse: ch}, "--data-dir", dataDir)
	var rows []storage.Hit
	waitFor(t, "bob's purchase row in ClickHouse", func() bool {
		rows = rowsOf(t, ch, first.acct)
		for _, r := range rows {
			if r.OrderID == "B1" {
				return true
			}
		}
		return false
	})
	second.settle()
	annHash, annID := emailSHA256(ann), attribution.EmailAttendeeID(ann)
	for _, r := range rowsOf(t, ch, first.acct) {
		if r.EmailSHA256 == annHash || r.AttendeeID == annID {
			t.Errorf("a row of the erased person was shipped: %+v", r)
		}
	}
	src := func(ctx context.Context, fn func(h *storage.Hit) error) error {
		return ch.Rows(ctx, first.acct, func(h storage.Hit) error { return fn(&h) })
	}
	rep, err := reconcile.Run(context.Background(), src, ledger, reconcile.Options{ScratchDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Differences) != 0 {
		t.Errorf("reconcile from ClickHouse reports differences: %v", rep.Differences)
	}
}

func httptestGet(target string) *http.Request { return httptest.NewRequest("GET", target, nil) }

// After an erasure nothing this node keeps names the person: the rows log
// (the archive) never held their email, name, handle or phone in plain
// text, their refused hits leave the live list, and the hits log, which
// holds each hit as it came, is released up to the erasure.
func TestErasureLeavesNoPlaintextOnDisk(t *testing.T) {
	ledger := embeddedLedger(t)
	h := newHarness(t, ledger)
	a := "/accounts/" + h.acct
	endpoint := "card-" + h.acct
	h.api("PUT", a+"/lead-endpoints/"+endpoint, map[string]any{}, 200)
	resp := h.do(httptestGet("/v1/leads/" + endpoint + "?name=Ann+Lovelace&email=ann%40example.com&screen_name=annlovelace&phone=15550100777&dob=19151210"))
	if resp.StatusCode != 200 {
		t.Fatalf("lead: status %d", resp.StatusCode)
	}
	h.importBody("w1", "text/csv", "Email;Prénom;Nom;Téléphone;Pays;Code postal\nann@example.com;Ann;Lovelace;15550100777;US;10001\n", 200)
	h.pixel("webinarId=w1&email=ann@example.com&amount=50&orderId=A1&first_name=Ann&last_name=Lovelace")
	h.pixel("webinarId=w1&email=ann@example.com&amount=-1&orderId=A2")
	h.pixel("webinarId=w1&email=bob@example.com&amount=-1&orderId=B2")
	h.settle()
	if n := len(h.api("GET", a+"/hits/rejected", nil, 200)["rejections"].([]any)); n != 2 {
		t.Fatalf("%d refused hits listed before the erasure, want 2", n)
	}
	export := h.api("POST", a+"/audiences/exports", map[string]any{"platform": "google", "filters": map[string]any{"converted": true}}, 201)
	if _, file := h.download(a + "/audiences/exports/" + export["id"].(string) + ".csv"); !strings.Contains(file, "Lovelace") {
		t.Fatalf("the audience export does not name the person before the erasure:\n%s", file)
	}
	h.clock.add(time.Minute)
	if out := h.api("DELETE", a+"/attendees/ann@example.com", nil, 200); out["export_rows"] != 1.0 {
		t.Errorf("erasure: %v, want 1 export row removed", out)
	}

	rs := h.api("GET", a+"/hits/rejected", nil, 200)["rejections"].([]any)
	if len(rs) != 1 || !strings.Contains(rs[0].(map[string]any)["query"].(string), "orderId=B2") {
		t.Errorf("refused hits after the erasure: %v, want bob's only", rs)
	}
	hitsLog := filepath.Join(h.srv.cfg.WALDir(), "hits")
	if _, err := os.Stat(hitsLog); err != nil {
		t.Fatalf("the hits log is not where the test looks: %v", err)
	}
	check := func(path string) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, n := range []string{"ann@example.com", "ann%40example.com", "Lovelace", "annlovelace", "15550100777", "19151210"} {
			if bytes.Contains(b, []byte(n)) {
				t.Errorf("%s holds %q after the erasure", path, n)
			}
		}
		return nil
	}
	err := filepath.WalkDir(h.srv.cfg.DataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return check(path)
	})
	if err != nil {
		t.Fatal(err)
	}
	// The ledger file (here outside the data directory) too, where bolt
	// keeps old copies of changed pages.
	if err := check(ledger.(*embedded.Ledger).Path()); err != nil {
		t.Fatal(err)
	}
}
