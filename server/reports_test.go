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

func clickHouse(t *testing.T) *clickhouse.Client {
	t.Helper()
	u, err := url.Parse(testenv.ClickHouse(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = fmt.Sprintf("/pp_server_%d", time.Now().UnixNano())
	ch, err := clickhouse.Open(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	return ch
}

// The reports read the raw hits in ClickHouse: a campaign's clicks, cost
// and conversions by zone; a webinar's sales by day; hits by reason.
func TestReportsFromClickHouse(t *testing.T) {
	h := newHarnessWith(t, Deps{Ledger: embeddedLedger(t), ClickHouse: clickHouse(t)}, "--allow-private-targets")
	src := newTrafficSource(t)
	camp := h.s2s(src.URL)
	a := "/accounts/" + h.acct
	h.api("PUT", a+"/campaigns/"+camp, map[string]any{"source_id": "exo", "network_id": "net",
		"offer_url": "https://offer.example/?s1={clickid}", "cpc": "0.01"}, 200)
	c1 := h.clickThrough(camp, "external_id=A&zone_id=42&cost=0.02")
	h.clickThrough(camp, "external_id=B&zone_id=42")
	h.clickThrough(camp, "external_id=C&zone_id=43")
	h.postback(fmt.Sprintf("/v1/postback/%s/net?cid=%s&payout=5.50&txid=T1&secret=s3cret", h.acct, c1))
	h.pixel("webinarId=w1&amount=20&orderId=R1")
	h.pixel("webinarId=w1&amount=1e9") // rejected

	var rows []any
	waitFor(t, "the rows in ClickHouse", func() bool {
		rows = h.api("GET", a+"/reports/campaigns?group_by=zone&from=2026-02-01&to=2026-04-01", nil, 200)["rows"].([]any)
		n := 0.0
		for _, r := range rows {
			n += r.(map[string]any)["clicks"].(float64)
		}
		return n == 3
	})
	byZone := map[string]map[string]any{}
	for _, r := range rows {
		m := r.(map[string]any)
		byZone[m["group"].(map[string]any)["zone"].(string)] = m
	}
	z42 := byZone["42"]
	if z42["clicks"] != 2.0 || z42["conversions"] != 1.0 || z42["revenue"].(map[string]any)["USD"] != "5.50" ||
		z42["cost"].(map[string]any)["USD"] != "0.03" {
		t.Errorf("zone 42: %v; want 2 clicks (0.02 + CPC 0.01), 1 conversion of 5.50", z42)
	}
	if z43 := byZone["43"]; z43["clicks"] != 1.0 || z43["conversions"] != 0.0 {
		t.Errorf("zone 43: %v", z43)
	}
	h.api("GET", a+"/reports/campaigns?group_by=planet", nil, 400)

	days := h.api("GET", a+"/reports/webinars/w1/series?from=2026-02-01&to=2026-04-01&tz=Europe/Paris", nil, 200)["days"].([]any)
	if len(days) != 1 || days[0].(map[string]any)["sales"] != 1.0 || days[0].(map[string]any)["revenue"].(map[string]any)["USD"] != "20.00" {
		t.Errorf("webinar series %v", days)
	}
	// A date is the whole day: from and to the day of the hits finds them.
	if days := h.api("GET", a+"/reports/webinars/w1/series?from=2026-03-01&to=2026-03-01", nil, 200)["days"].([]any); len(days) != 1 {
		t.Errorf("series of the one day: %v", days)
	}
	hits := h.api("GET", a+"/reports/hits?from=2026-02-01&to=2026-04-01", nil, 200)["hits"].([]any)
	found := false
	for _, x := range hits {
		m := x.(map[string]any)
		found = found || (m["reason"] == "invalid_amount" && m["count"] == 1.0)
	}
	if !found {
		t.Errorf("hits by status %v: no invalid_amount", hits)
	}
}
