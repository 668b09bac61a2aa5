package server

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// With ClickHouse, the rows of hits reach it from the applier's memory
// while the shipper keeps up, and /metrics says so.
func TestRowsReachClickHouseFromMemory(t *testing.T) {
	h := newHarnessWith(t, Deps{Ledger: embeddedLedger(t), ClickHouse: clickHouse(t)})
	h.pixel("webinarId=w1&amount=20&orderId=R1")
	h.pixel("webinarId=w1&amount=abc") // rejected: a row all the same
	h.pixel("webinarId=w2&amount=5&orderId=R2")
	var body string
	waitFor(t, "three rows shipped from memory", func() bool {
		body = readAll(h.do(httptest.NewRequest("GET", "/metrics", nil)))
		return strings.Contains(body, "pixelpost_clickhouse_shipped_total 3\n")
	})
	for _, want := range []string{`pixelpost_clickhouse_rows_total{from="memory"} 3`, `pixelpost_clickhouse_rows_total{from="log"} 0`} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("metrics lack %s:\n%s", want, body)
		}
	}
}
