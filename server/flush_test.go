package server

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/internal/testenv"
	"github.com/pixelpost/pixelpost/storage/clickhouse"
)

// POST /api/v1/flush answers once the hits recorded before it are in
// ClickHouse, although the batch would otherwise wait 10 minutes: the
// rows are visible right after the call.
func TestFlushShipsRecordedHitsAtOnce(t *testing.T) {
	ch := clickHouse(t)
	h := newHarnessWith(t, Deps{Ledger: embeddedLedger(t), ClickHouse: ch}, "--clickhouse-batch-delay", "10m")
	const n = 7
	for i := range n {
		h.pixel(fmt.Sprintf("webinarId=w1&email=f%d@example.com&amount=10&orderId=F%d", i, i))
	}
	got := h.api("POST", "/flush", nil, 200)
	if got["store"] != "clickhouse" || got["rows_shipped"] != float64(n) {
		t.Errorf("flush answered %v, want store clickhouse and %d rows shipped", got, n)
	}
	if rows := rowsOf(t, ch, h.acct); len(rows) != n {
		t.Errorf("%d rows in ClickHouse right after the flush, want %d", len(rows), n)
	}
	// Nothing new: an immediate answer with nothing shipped.
	if got := h.api("POST", "/flush", nil, 200); got["rows_shipped"] != float64(0) {
		t.Errorf("second flush answered %v, want 0 rows shipped", got)
	}
}

// A flush that cannot finish in time (ClickHouse unreachable) answers 504
// with a reason, and a later one, once ClickHouse is back, ships the rows.
func TestFlushTimesOutWhileClickHouseIsDown(t *testing.T) {
	u, err := url.Parse(testenv.ClickHouse(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	u.Path = fmt.Sprintf("/pp_server_%d", time.Now().UnixNano())
	ch, err := clickhouse.Open(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	h := newHarnessWith(t, Deps{Ledger: embeddedLedger(t), ClickHouse: ch}, "--clickhouse-batch-delay", "10m")
	proxy.Cut()
	h.pixel("webinarId=w1&email=down@example.com&amount=10&orderId=D1")
	got := h.api("POST", "/flush?wait=2s", nil, 504)
	if got["error"] != "flush_timeout" {
		t.Errorf("flush while ClickHouse is down answered %v, want error flush_timeout", got)
	}
	h.api("POST", "/flush?wait=soon", nil, 400)
	proxy.Restore()
	got = h.api("POST", "/flush?wait=2m", nil, 200)
	if rows := rowsOf(t, ch, h.acct); len(rows) != 1 {
		t.Errorf("%d rows in ClickHouse after the flush (%v), want 1", len(rows), got)
	}
}

// Without ClickHouse, a flush waits for the embedded default's reports.
func TestFlushIndexesOnTheEmbeddedDefault(t *testing.T) {
	h := newHarness(t, embeddedLedger(t))
	h.pixel("webinarId=w1&email=e@example.com&amount=10&orderId=E1")
	if got := h.api("POST", "/flush", nil, 200); got["store"] != "index" {
		t.Errorf("flush answered %v, want store index", got)
	}
}
