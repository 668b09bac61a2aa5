package server

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/clickhouse"
	"github.com/pixelpost/pixelpost/storage/pipeline"
	"github.com/pixelpost/pixelpost/storage/reconcile"
	"github.com/pixelpost/pixelpost/storage/wal"
)

// pixelCampaign sets up a traffic source whose postback template puts the
// click's macros in the path and the query, and a campaign of it whose
// clicks the conversion pixel converts.
func (h *harness) pixelCampaign(sourceURL string) string {
	h.t.Helper()
	a := "/accounts/" + h.acct
	h.api("PUT", a+"/sources/exo", map[string]any{
		"postback_url": sourceURL + "/pb/{external_id}?zone={zone_id}&value={payout}",
	}, 200)
	campaign := "camp-" + h.acct
	h.api("PUT", a+"/campaigns/"+campaign, map[string]any{
		"source_id": "exo", "offer_url": "https://offer.example/?s1={clickid}", "pixel_conversions": true, "cpc": "0.02",
	}, 200)
	return campaign
}

// convertClick follows the campaign link with macros and converts the
// click through the conversion pixel with email, as a thank-you page does.
func (h *harness) convertClick(campaign, ext, email, order string) string {
	h.t.Helper()
	cid := h.clickThrough(campaign, "external_id="+ext+"&zone_id=ZONE-"+ext)
	h.pixel(fmt.Sprintf("cid=%s&email=%s&amount=10&orderId=%s", cid, url.QueryEscape(email), order))
	return cid
}

// filesHolding lists the files under dir that contain any of needles.
func filesHolding(t *testing.T, dir string, needles ...string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, n := range needles {
			if bytes.Contains(b, []byte(n)) {
				found = append(found, fmt.Sprintf("%s holds %q", path, n))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// The outbound postback of a click the person converted holds the traffic
// source's macros in its URL: the erasure strips it (by its key, which
// names the click), and no file of the data directory keeps them; another
// person's postback is untouched.
func TestErasureForgetsThePostbacksOfThePersonsClicks(t *testing.T) {
	ledgers(t, func(t *testing.T, l storage.Ledger) {
		h := newHarness(t, l, "--allow-private-targets")
		src := newTrafficSource(t)
		camp := h.pixelCampaign(src.URL)
		h.convertClick(camp, "EXT-ANN-MACRO", "ann@example.com", "A1")
		h.convertClick(camp, "EXT-BOB-MACRO", "bob@example.com", "B1")
		var ds []any
		waitFor(t, "both outbound postbacks delivered", func() bool {
			ds = h.api("GET", "/accounts/"+h.acct+"/deliveries?status=delivered", nil, 200)["deliveries"].([]any)
			return len(ds) == 2
		})
		for _, q := range src.received() {
			if q.Get("zone") == "" {
				t.Fatalf("the source got a postback without the click's macros: %v", q)
			}
		}
		if found := filesHolding(t, h.srv.cfg.DataDir, "EXT-ANN-MACRO"); len(found) == 0 {
			t.Fatal("no file holds the click's macros before the erasure: the test proves nothing")
		}
		h.clock.add(time.Minute)
		out := h.api("DELETE", "/accounts/"+h.acct+"/attendees/ann@example.com", nil, 200)
		if out["deliveries"] != 1.0 || out["clicks"] != 1.0 {
			t.Errorf("erasure: %v, want 1 delivery and 1 click stripped", out)
		}
		ds = h.api("GET", "/accounts/"+h.acct+"/deliveries", nil, 200)["deliveries"].([]any)
		var bobs int
		for _, d := range ds {
			u := d.(map[string]any)["url"].(string)
			switch {
			case strings.Contains(u, "ANN"):
				t.Errorf("a delivery still holds the erased person's macros: %s", u)
			case strings.Contains(u, "/pb/EXT-BOB-MACRO?") && strings.Contains(u, "zone=ZONE-EXT-BOB-MACRO"):
				bobs++
			}
		}
		if bobs != 1 {
			t.Errorf("deliveries after the erasure %v: want bob's as it was", ds)
		}
		if found := filesHolding(t, h.srv.cfg.DataDir, "EXT-ANN-MACRO"); len(found) != 0 {
			t.Errorf("after the erasure: %v", found)
		}
	})
}

// On the embedded default the rows log is the raw-hit archive: after an
// erasure no file of the data directory names the person (email hash,
// attendee id) or the macros of the click they converted, the archive
// still reads, and reconcile from it, and from ClickHouse after
// import-wal, finds no difference.
func TestErasureTakesThePersonOutOfTheRowsLog(t *testing.T) {
	ledger := embeddedLedger(t)
	dataDir := t.TempDir()
	h := newHarness(t, ledger, "--data-dir", dataDir, "--allow-private-targets")
	camp := h.pixelCampaign("http://127.0.0.1:9")
	ann, bob := "ann@example.com", "bob@example.com"
	h.pixelReq(httptestGet("/v1/attendee/pixel/" + h.acct + "?webinarId=w1&email=" + ann))
	h.pixel("webinarId=w1&email=" + ann + "&amount=50&orderId=A1")
	h.convertClick(camp, "EXT-ANN-MACRO", ann, "A2")
	h.convertClick(camp, "EXT-BOB-MACRO", bob, "B2")
	h.pixel("webinarId=w1&email=" + bob + "&amount=30&orderId=B1")
	annHash, annID := emailSHA256(ann), attribution.EmailAttendeeID(ann)
	person := []string{annHash, annID, "EXT-ANN-MACRO"}
	if found := filesHolding(t, filepath.Join(dataDir, "wal", "rows"), person...); len(found) != 3 {
		t.Fatalf("the rows log names the person %v before the erasure, want all three: the test proves nothing", found)
	}
	h.clock.add(time.Minute)
	h.api("DELETE", "/accounts/"+h.acct+"/attendees/"+ann, nil, 200)
	if found := filesHolding(t, dataDir, person...); len(found) != 0 {
		t.Errorf("after the erasure: %v", found)
	}
	h.pixel("webinarId=w1&email=" + bob + "&amount=5&orderId=B3") // the log goes on
	h.srv.Close()

	rows, err := wal.Open(wal.Options{Dir: pipeline.RowsDir(filepath.Join(dataDir, "wal"))})
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var archived []storage.Hit
	all := reconcile.FromWAL(rows, nil)
	err = all(context.Background(), func(r *storage.Hit) error { archived = append(archived, *r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	checkClickRows(t, archived, camp)
	rep, err := reconcile.Run(context.Background(), all, ledger, reconcile.Options{ScratchDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Differences) != 0 || rep.Hits != len(archived) {
		t.Errorf("reconcile from the rows log: %d hits of %d, differences %v", rep.Hits, len(archived), rep.Differences)
	}

	ch := clickHouse(t)
	if _, err := clickhouse.ImportAll(context.Background(), clickhouse.ShipperDeps{Log: rows, Client: ch}, 0); err != nil {
		t.Fatal(err)
	}
	imported := rowsOf(t, ch, h.acct)
	checkClickRows(t, imported, camp)
	src := func(ctx context.Context, fn func(h *storage.Hit) error) error {
		return ch.Rows(ctx, h.acct, func(h storage.Hit) error { return fn(&h) })
	}
	rep, err = reconcile.Run(context.Background(), src, ledger, reconcile.Options{ScratchDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Differences) != 0 {
		t.Errorf("reconcile from ClickHouse after import-wal: %v", rep.Differences)
	}
}

// checkClickRows checks raw rows after ann's erasure: none of hers, her
// click stripped of what the visit told but keeping campaign and cost,
// bob's click as it came.
func checkClickRows(t *testing.T, rows []storage.Hit, camp string) {
	t.Helper()
	annHash, annID := emailSHA256("ann@example.com"), attribution.EmailAttendeeID("ann@example.com")
	var clicks, bobs int
	for _, r := range rows {
		if r.EmailSHA256 == annHash || r.AttendeeID == annID {
			t.Errorf("a row of the erased person: %+v", r)
		}
		if r.Kind != storage.KindClick {
			continue
		}
		clicks++
		if r.CampaignID != camp || r.Cost != 20_000 {
			t.Errorf("a click row lost its campaign or cost: %+v", r)
		}
		switch r.Macros["external_id"] {
		case "EXT-BOB-MACRO":
			bobs++
		case "":
			if r.Query != "" || r.IP != "" || r.UserAgent != "" || len(r.Macros) != 0 {
				t.Errorf("the erased person's click keeps %+v", r)
			}
		default:
			t.Errorf("a click row %+v", r)
		}
	}
	if clicks != 2 || bobs != 1 {
		t.Errorf("%d click rows, %d of bob's; want 2 and 1", clicks, bobs)
	}
}

// With ClickHouse, the rows of a click the person converted (the click, a
// network's later postback on it) keep campaign, cost and status but lose
// the macros, query, IP and user agent; the campaign's clicks and cost in
// the reports do not change; the person's rows are deleted.
func TestErasureStripsTheClickRowsInClickHouse(t *testing.T) {
	ch := clickHouse(t)
	h := newHarnessWith(t, Deps{Ledger: embeddedLedger(t), ClickHouse: ch}, "--allow-private-targets", "--keep-full-ip")
	camp := h.pixelCampaign("http://127.0.0.1:9")
	ann := "ann@example.com"
	cid := h.convertClick(camp, "EXT-ANN-MACRO", ann, "A1")
	h.convertClick(camp, "EXT-BOB-MACRO", "bob@example.com", "B1")
	// A later conversion of ann's click, reported by a postback.
	if code, body := h.postback(fmt.Sprintf("/v1/postback/%s?cid=%s&payout=3&txid=T2", h.acct, cid)); code != 200 {
		t.Fatalf("postback: %d %s", code, body)
	}
	report := func() map[string]any {
		rows := h.api("GET", "/accounts/"+h.acct+"/reports/campaigns?group_by=campaign&from=2026-02-01&to=2026-04-01", nil, 200)["rows"].([]any)
		if len(rows) != 1 {
			return nil // not shipped yet
		}
		return rows[0].(map[string]any)
	}
	waitFor(t, "the click rows in ClickHouse", func() bool { return report()["clicks"] == 2.0 })
	before := report()
	h.clock.add(time.Minute)
	if out := h.api("DELETE", "/accounts/"+h.acct+"/attendees/"+ann, nil, 200); out["raw_hits"] != "deleted" {
		t.Fatalf("erasure: %v", out)
	}
	after := report()
	if after["clicks"] != before["clicks"] || fmt.Sprint(after["cost"]) != fmt.Sprint(before["cost"]) {
		t.Errorf("campaign report before the erasure %v, after %v: clicks and cost must not change", before, after)
	}
	var clickRows int
	for _, r := range rowsOf(t, ch, h.acct) {
		if r.EmailSHA256 == emailSHA256(ann) || r.AttendeeID == attribution.EmailAttendeeID(ann) {
			t.Errorf("a row of the erased person: %+v", r)
		}
		if r.ClickID != cid {
			continue
		}
		clickRows++
		if len(r.Macros) != 0 || r.Query != "" || r.IP != "" || r.UserAgent != "" {
			t.Errorf("a row of the erased person's click keeps what the visit told: %+v", r)
		}
		if r.CampaignID != camp || r.Status != storage.StatusAccepted {
			t.Errorf("a row of the erased person's click lost its campaign or status: %+v", r)
		}
	}
	if clickRows != 2 { // the click, the network's postback (ann's own conversion row is deleted)
		t.Errorf("%d rows of ann's click left, want 2", clickRows)
	}
}
