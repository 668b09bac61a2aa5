package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
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
