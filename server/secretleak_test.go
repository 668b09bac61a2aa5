package server

import (
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/pixelpost/pixelpost/storage"
)

// assertNoFileHolds fails when a file under dir holds one of the needles.
func assertNoFileHolds(t *testing.T, dir string, needles ...string) {
	t.Helper()
	for _, f := range filesHolding(t, dir, needles...) {
		t.Error(f)
	}
}

// A network's secret never reaches a raw hit: not under the parameter
// name the network configured ("params":{"secret":"auth"}), not under any
// other name. Checked in the rows log bytes on disk, in ClickHouse and in
// the refused-hits list.
func TestPostbackSecretIsNeverRecorded(t *testing.T) {
	const secret = "S3CRET-7f2b9c"
	run := func(t *testing.T, h *harness) {
		a := "/accounts/" + h.acct
		h.api("PUT", a+"/networks/net", map[string]any{"preset": "generic", "params": map[string]any{"secret": "auth"}, "secret": secret}, 200)
		campaign := "camp-" + h.acct
		h.api("PUT", a+"/campaigns/"+campaign, map[string]any{"network_id": "net", "offer_url": "https://offer.example/?s1={clickid}"}, 200)
		cid := h.clickThrough(campaign, "zone_id=7")
		for _, c := range []struct {
			path string
			want int
		}{
			{"/v1/postback/" + h.acct + "/net?cid=" + cid + "&payout=1.50&txid=t1&auth=" + secret, 200},
			{"/v1/postback/" + h.acct + "/net?cid=nosuchclick&txid=t2&AUTH=" + url.QueryEscape(secret), 403},
			{"/v1/postback/" + h.acct + "/net?cid=" + cid + "&txid=t3&auth=wrong&note=" + secret, 403},
			{"/v1/postback/" + h.acct + "?cid=nosuchclick&txid=t4&s=" + strings.ToLower(secret[:2]) + secret[2:] + "&x=" + secret, 404},
			{"/v1/postback/" + h.acct + "/nosuchnet?cid=" + cid + "&auth=" + secret, 404},
		} {
			if got, body := h.postback(c.path); got != c.want {
				t.Fatalf("%s: %d %s, want %d", c.path, got, body, c.want)
			}
		}
		h.settle()
		rej := h.rawAPI("GET", a+"/hits/rejected")
		if strings.Contains(rej, secret) {
			t.Errorf("the refused-hits list shows the secret: %s", rej)
		}
		if !strings.Contains(rej, "auth=REDACTED") || !strings.Contains(rej, "x=REDACTED") {
			t.Errorf("the refused-hits list lacks the redacted postbacks: %s", rej)
		}
		assertNoFileHolds(t, h.srv.cfg.DataDir, secret)
	}
	t.Run("embedded", func(t *testing.T) {
		h := newHarness(t, embeddedLedger(t))
		run(t, h)
		// Without ClickHouse the rows log is the archive: it holds them all.
		if rows := postbackRows(t, h); rows != 5 {
			t.Errorf("rows log holds %d postback rows, want 5", rows)
		}
	})
	t.Run("clickhouse", func(t *testing.T) {
		ch := clickHouse(t)
		h := newHarnessWith(t, Deps{Ledger: embeddedLedger(t), ClickHouse: ch})
		run(t, h)
		var postbacks []storage.Hit
		waitFor(t, "the 5 postback rows in ClickHouse", func() bool {
			postbacks = postbacks[:0]
			for _, r := range rowsOf(t, ch, h.acct) {
				if r.Kind == storage.KindPostback {
					postbacks = append(postbacks, r)
				}
			}
			return len(postbacks) == 5
		})
		for _, r := range postbacks {
			if strings.Contains(fmt.Sprintf("%+v", r), secret) {
				t.Errorf("a ClickHouse row holds the secret: %+v", r)
			}
		}
	})
}

// postbackRows counts the postback rows in the rows log.
func postbackRows(t *testing.T, h *harness) int {
	t.Helper()
	rows := h.srv.pipeline.Rows()
	r := rows.NewReader(rows.First())
	defer r.Close()
	n := 0
	for {
		rec, _, err := r.Next()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		if hit, err := storage.DecodeHit(rec); err == nil && hit.Kind == storage.KindPostback {
			n++
		}
	}
}
