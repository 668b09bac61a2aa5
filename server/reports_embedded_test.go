package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// get sends an authenticated GET and returns the status, content type and
// body (for CSV answers).
func (h *harness) get(path string, header ...string) (int, string, []byte) {
	h.t.Helper()
	req := httptest.NewRequest("GET", "/api/v1"+path, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp := h.do(req)
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// reportTraffic sends the same traffic to a server: a campaign (source
// exo, network net) with clicks in zones 42 and 43, a conversion pending
// then approved, one in EUR, webinar sales in USD and EUR a day apart, a
// registrant and a refused pixel. The clock is 2026-03-01 12:00 UTC at
// the start; it ends a day later (2026-03-02 13:00:09 UTC).
func reportTraffic(h *harness, sourceURL string) (clicks []string) {
	h.t.Helper()
	a := "/accounts/" + h.acct
	h.api("PUT", a+"/sources/exo", map[string]any{"postback_url": sourceURL + "/tag.php?tag={external_id}&value={payout}"}, 200)
	h.api("PUT", a+"/networks/net", map[string]any{"preset": "generic", "secret": "s3cret"}, 200)
	h.api("PUT", a+"/campaigns/camp1", map[string]any{"source_id": "exo", "network_id": "net",
		"offer_url": "https://offer.example/?s1={clickid}", "cpc": "0.01"}, 200)
	// A second between hits: logs list them newest first.
	tick := func() { h.clock.add(time.Second) }
	c1 := h.clickThrough("camp1", "external_id=A&zone_id=42&country=FR&cost=0.02")
	tick()
	c2 := h.clickThrough("camp1", "external_id=B&zone_id=42&country=FR")
	tick()
	c3 := h.clickThrough("camp1", "external_id=C&zone_id=43&country=DE&cost=0.0035")
	pb := func(q string) {
		h.t.Helper()
		tick()
		if code, body := h.postback("/v1/postback/" + h.acct + "/net?secret=s3cret&" + q); code != 200 || body != "ok" {
			h.t.Fatalf("postback %s: %d %s", q, code, body)
		}
	}
	pb("cid=" + c1 + "&payout=5.50&txid=T1&status=pending")
	h.clock.add(time.Hour)
	pb("cid=" + c1 + "&payout=5.50&txid=T1&status=approved")
	pb("cid=" + c3 + "&payout=3&txid=T3&currency=EUR")
	tick()
	h.do(httptest.NewRequest("GET", "/v1/attendee/pixel/"+h.acct+"?webinarId=w1&email=ann@example.com", nil))
	tick()
	h.pixel("webinarId=w1&email=ann@example.com&amount=20&orderId=R1&productName=Course")
	tick()
	h.pixel("webinarId=w1&amount=1e9") // refused
	h.clock.add(23 * time.Hour)        // 2026-03-02 about 13:00 UTC
	h.pixel("webinarId=w1&email=bob@example.com&amount=30&currency=EUR&orderId=R2")
	h.settle()
	return []string{c1, c2, c3}
}

// Without ClickHouse (the README's first command) every report answers,
// with the figures of the traffic: SPEC §5.
func TestReportsWithoutClickHouse(t *testing.T) {
	h := newHarness(t, embeddedLedger(t), "--allow-private-targets")
	src := newTrafficSource(t)
	a := "/accounts/" + h.acct
	h.api("PUT", a, map[string]any{"name": "Test", "default_currency": "USD", "timezone": "Europe/Paris",
		"rates": map[string]any{"eur": "1.0800"}}, 200)
	reportTraffic(h, src.URL)

	r := h.api("GET", a+"/reports/campaigns?group_by=zone&preset=this_month", nil, 200)
	if r["tz"] != "Europe/Paris" || r["preset"] != "this_month" || r["from"] != "2026-03-01T00:00:00+01:00" || r["to"] != "2026-04-01T00:00:00+02:00" {
		t.Errorf("period: %v %v %v %v", r["tz"], r["preset"], r["from"], r["to"])
	}
	rows := r["rows"].([]any)
	if len(rows) != 2 {
		t.Fatalf("rows %v", rows)
	}
	z42, z43 := rows[0].(map[string]any), rows[1].(map[string]any)
	if z42["group"].(map[string]any)["zone"] != "42" || z42["clicks"] != 2.0 || z42["conversions"] != 1.0 || z42["approved"] != 1.0 ||
		z42["cr"] != "50.00" || z42["revenue"].(map[string]any)["USD"] != "5.50" || z42["cost"].(map[string]any)["USD"] != "0.03" ||
		z42["epc"].(map[string]any)["USD"] != "2.75" || z42["cpc"].(map[string]any)["USD"] != "0.02" || z42["roi"].(map[string]any)["USD"] != "18233.33" {
		t.Errorf("zone 42: %v", z42)
	}
	// Revenue in EUR, a cost of 0.0035 USD: per currency, and converted at 1.08.
	cv, _ := z43["converted"].(map[string]any)
	if z43["cpc"].(map[string]any)["USD"] != "0.0035" || z43["revenue"].(map[string]any)["EUR"] != "3.00" || len(z43["roi"].(map[string]any)) != 0 ||
		cv == nil || cv["revenue"] != "3.24" || cv["cost"] != "0.0035" || cv["profit"] != "3.2365" || cv["rates"].(map[string]any)["EUR"] != "1.08" {
		t.Errorf("zone 43: %v", z43)
	}
	tot := r["totals"].(map[string]any)
	if tot["clicks"] != 3.0 || tot["approved"] != 2.0 || tot["cr"] != "66.67" || tot["converted"].(map[string]any)["revenue"] != "8.74" {
		t.Errorf("totals: %v", tot)
	}

	// The webinar's days in the account's zone; ?tz wins over it.
	days := h.api("GET", a+"/reports/webinars/w1/series?preset=last_7_days", nil, 200)["days"].([]any)
	if len(days) != 2 || days[0].(map[string]any)["day"] != "2026-03-01" || days[0].(map[string]any)["sales"] != 1.0 ||
		days[0].(map[string]any)["registrants"] != 1.0 || days[1].(map[string]any)["revenue"].(map[string]any)["EUR"] != "30.00" {
		t.Errorf("series: %v", days)
	}
	tokyo := h.api("GET", a+"/reports/webinars/w1/series?from=2026-03-01&to=2026-03-03&tz=Asia/Tokyo", nil, 200)
	if d := tokyo["days"].([]any); tokyo["tz"] != "Asia/Tokyo" || len(d) != 2 || d[1].(map[string]any)["day"] != "2026-03-02" {
		t.Errorf("series in Tokyo: %v", tokyo)
	}
	hits := h.api("GET", a+"/reports/hits?preset=this_month", nil, 200)["hits"].([]any)
	found := false
	for _, x := range hits {
		m := x.(map[string]any)
		found = found || (m["kind"] == "pixel" && m["reason"] == "invalid_amount" && m["count"] == 1.0)
	}
	if !found {
		t.Errorf("hits by status %v: no invalid_amount", hits)
	}
	// Yesterday in Paris is 2026-03-01: the first sale only.
	y := h.api("GET", a+"/reports/webinars/w1/series?preset=yesterday", nil, 200)["days"].([]any)
	if len(y) != 1 || y[0].(map[string]any)["day"] != "2026-03-01" {
		t.Errorf("yesterday: %v", y)
	}

	for _, bad := range []string{"group_by=planet", "group_by=campaign,zone,country,day", "preset=forever",
		"preset=today&from=2026-03-01", "tz=Mars/Olympus", "format=xml", "from=yesterday"} {
		h.api("GET", a+"/reports/campaigns?"+bad, nil, 400)
	}
}

// Drill-down: a row's group values as filters, the next dimension as
// group_by; a filter with an empty value keeps the rows without it.
func TestCampaignReportDrillDown(t *testing.T) {
	h := newHarness(t, embeddedLedger(t), "--allow-private-targets")
	reportTraffic(h, newTrafficSource(t).URL)
	h.clickThrough("camp1", "external_id=D") // no zone, no country
	a := "/accounts/" + h.acct + "/reports/campaigns?preset=this_month&"
	levels := h.api("GET", a+"group_by=campaign,zone,country", nil, 200)["rows"].([]any)
	if len(levels) != 3 {
		t.Fatalf("three levels: %v", levels)
	}
	drill := h.api("GET", a+"group_by=country&campaign=camp1&zone=42", nil, 200)
	if rows := drill["rows"].([]any); len(rows) != 1 || rows[0].(map[string]any)["group"].(map[string]any)["country"] != "FR" ||
		rows[0].(map[string]any)["clicks"] != 2.0 || drill["totals"].(map[string]any)["clicks"] != 2.0 ||
		!reflect.DeepEqual(drill["filters"], map[string]any{"campaign": "camp1", "zone": "42"}) {
		t.Errorf("drill-down: %v", drill)
	}
	none := h.api("GET", a+"group_by=campaign&zone=", nil, 200)["rows"].([]any)
	if len(none) != 1 || none[0].(map[string]any)["clicks"] != 1.0 {
		t.Errorf("rows without a zone: %v", none)
	}
}

// Any report downloads as CSV (?format=csv or Accept: text/csv), with
// cells a spreadsheet would run as formulas neutralised.
func TestReportsAsCSV(t *testing.T) {
	h := newHarness(t, embeddedLedger(t), "--allow-private-targets")
	reportTraffic(h, newTrafficSource(t).URL)
	h.clickThrough("camp1", "external_id=E&zone_id=%3DHYPERLINK(%22http://evil%22)")
	a := "/accounts/" + h.acct
	code, ct, body := h.get(a + "/reports/campaigns?group_by=zone&preset=this_month&format=csv")
	if code != 200 || !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("campaign CSV: %d %s %s", code, ct, body)
	}
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if recs[0][0] != "line" || recs[0][1] != "zone" || recs[len(recs)-1][0] != "total" {
		t.Errorf("header %v, last line %v", recs[0], recs[len(recs)-1])
	}
	var zones []string
	for _, r := range recs[1:] {
		zones = append(zones, r[1])
	}
	if !strings.Contains(strings.Join(zones, ","), `'=HYPERLINK("http://evil")`) {
		t.Errorf("zones %q: the formula is not neutralised", zones)
	}
	if profit := column(recs, "profit_USD"); !slices.Contains(profit, "-0.01") {
		t.Errorf("a negative profit stays a number: %v", profit)
	}
	for _, path := range []string{"/reports/webinars/w1/series?preset=this_month", "/reports/hits", "/logs/clicks",
		"/logs/conversions", "/logs/leads", "/logs/purchases?webinar=w1"} {
		code, ct, body := h.get(a+path, "Accept", "text/csv")
		if code != 200 || !strings.HasPrefix(ct, "text/csv") || len(body) == 0 {
			t.Errorf("%s as CSV: %d %s %s", path, code, ct, body)
		}
	}
}

func column(recs [][]string, name string) []string {
	var out []string
	for i, h := range recs[0] {
		if h == name {
			for _, r := range recs[1:] {
				out = append(out, r[i])
			}
		}
	}
	return out
}

// The logs find one event: the conversion log with the click, the status
// history and the outbound postbacks; the click log by zone and country;
// the purchase log of a webinar with the attendee; pages by cursor.
func TestLogs(t *testing.T) {
	h := newHarness(t, embeddedLedger(t), "--allow-private-targets")
	src := newTrafficSource(t)
	clicks := reportTraffic(h, src.URL)
	a := "/accounts/" + h.acct
	waitFor(t, "the outbound postbacks", func() bool { return len(src.received()) == 2 })

	conv := h.api("GET", a+"/logs/conversions", nil, 200)
	list := conv["conversions"].([]any)
	if len(list) != 2 {
		t.Fatalf("conversions: %v", conv)
	}
	c1 := list[1].(map[string]any)
	hist := c1["history"].([]any)
	if c1["click_id"] != clicks[0] || c1["txid"] != "T1" || c1["status"] != "approved" || c1["campaign"] != "camp1" ||
		c1["source"] != "exo" || c1["network"] != "net" || c1["zone"] != "42" || c1["macros"].(map[string]any)["external_id"] != "A" ||
		len(hist) != 2 || hist[0].(map[string]any)["conv_status"] != "pending" || c1["payout"].(map[string]any)["amount"] != "5.50" ||
		c1["click_time"] != "2026-03-01T12:00:00Z" {
		t.Errorf("the conversion of click 1: %v", c1)
	}
	if ds := c1["deliveries"].([]any); len(ds) != 1 || !strings.Contains(ds[0].(map[string]any)["url"].(string), "tag=A") {
		t.Errorf("its outbound postback: %v", ds)
	}
	if got := h.api("GET", a+"/logs/conversions?status=pending", nil, 200)["conversions"].([]any); len(got) != 0 {
		t.Errorf("pending now: %v", got)
	}
	h.api("GET", a+"/logs/conversions?status=rejected", nil, 400)

	byZone := h.api("GET", a+"/logs/clicks?zone=42&country=FR", nil, 200)["clicks"].([]any)
	if len(byZone) != 2 || byZone[0].(map[string]any)["click_id"] != clicks[1] || byZone[1].(map[string]any)["cost"].(map[string]any)["amount"] != "0.02" {
		t.Errorf("clicks of zone 42 in FR: %v", byZone)
	}
	var seen []string
	cursor := ""
	for range 5 {
		page := h.api("GET", a+"/logs/clicks?limit=2&cursor="+cursor, nil, 200)
		for _, c := range page["clicks"].([]any) {
			seen = append(seen, c.(map[string]any)["click_id"].(string))
		}
		if cursor = page["next_cursor"].(string); cursor == "" {
			break
		}
	}
	if want := []string{clicks[2], clicks[1], clicks[0]}; !reflect.DeepEqual(seen, want) {
		t.Errorf("pages of 2: %v, want %v", seen, want)
	}
	h.api("GET", a+"/logs/clicks?cursor=garbage", nil, 400)
	h.api("GET", a+"/logs/clicks?limit=0", nil, 400)

	buys := h.api("GET", a+"/logs/purchases?webinar=w1&status=accepted", nil, 200)["purchases"].([]any)
	if len(buys) != 2 || buys[0].(map[string]any)["order_id"] != "R2" || buys[0].(map[string]any)["email"] != "bob@example.com" ||
		buys[1].(map[string]any)["product_name"] != "Course" || buys[1].(map[string]any)["amount"].(map[string]any)["amount"] != "20.00" {
		t.Errorf("purchases of w1: %v", buys)
	}
	if one := h.api("GET", a+"/logs/purchases?order_id=R1", nil, 200)["purchases"].([]any); len(one) != 1 {
		t.Errorf("order R1: %v", one)
	}
}

// The lead log lists a card's submissions, the refused ones too, with the
// person's email while the ledger knows it.
func TestLeadLog(t *testing.T) {
	h := newHarness(t, embeddedLedger(t))
	a := "/accounts/" + h.acct
	ep := "card-" + h.acct
	h.api("PUT", a+"/lead-endpoints/"+ep, map[string]any{}, 200)
	for _, q := range []string{"email=Jane@Example.com&name=Jane&source=TWITTER", "name=NoEmail"} {
		h.do(httptest.NewRequest("GET", "/v1/leads/"+ep+"?"+q, nil))
		h.clock.add(time.Second)
	}
	h.settle()
	leads := h.api("GET", a+"/logs/leads?endpoint="+ep, nil, 200)["leads"].([]any)
	if len(leads) != 2 {
		t.Fatalf("leads: %v", leads)
	}
	ok, refused := leads[1].(map[string]any), leads[0].(map[string]any)
	if ok["email"] != "jane@example.com" || ok["endpoint"] != ep || !strings.Contains(ok["query"].(string), "source=TWITTER") ||
		strings.Contains(ok["query"].(string), "Jane") || refused["reason"] != "missing_email" {
		t.Errorf("leads: %v", leads)
	}
}

// An erasure removes the person's rows from the hit index: the reports
// and logs no longer count them, and nothing of them (email hash,
// attendee id) stays in the index file.
func TestErasureReachesTheHitIndex(t *testing.T) {
	h := newHarness(t, embeddedLedger(t), "--allow-private-targets")
	reportTraffic(h, newTrafficSource(t).URL)
	a := "/accounts/" + h.acct
	bobHash := emailSHA256("bob@example.com")
	out := h.api("DELETE", a+"/attendees/bob@example.com", nil, 200)
	if out["report_rows"] != 1.0 {
		t.Errorf("erasure: %v", out)
	}
	if buys := h.api("GET", a+"/logs/purchases?webinar=w1&status=accepted", nil, 200)["purchases"].([]any); len(buys) != 1 {
		t.Errorf("purchases after the erasure: %v", buys)
	}
	days := h.api("GET", a+"/reports/webinars/w1/series?preset=this_month", nil, 200)["days"].([]any)
	if len(days) != 1 {
		t.Errorf("series after the erasure: %v", days)
	}
	h.srv.Close()
	db, err := os.ReadFile(h.srv.cfg.HitIndexPath())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(db, []byte(bobHash)) {
		t.Error("the erased person's email hash is still in the hit index file")
	}
}

// The index survives a restart, and a deleted index is rebuilt from the
// rows log (leaving out erased people), answering the same reports.
func TestHitIndexRebuiltFromRowsLog(t *testing.T) {
	dir := t.TempDir()
	l := embeddedLedger(t)
	start := func() *harness {
		cfg, err := Load([]string{"--admin-token", testToken, "--data-dir", dir, "--allow-private-targets"}, func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		c := newClock()
		srv, err := New(cfg, Deps{Ledger: l, Log: zerolog.Nop(), Now: c.now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Close)
		return &harness{t: t, srv: srv, clock: c, acct: "rebuilt"}
	}
	h := start()
	h.api("PUT", "/accounts/rebuilt", map[string]any{"name": "Test", "default_currency": "USD"}, 200)
	reportTraffic(h, newTrafficSource(t).URL)
	h.api("DELETE", "/accounts/rebuilt/attendees/bob@example.com", nil, 200)
	const q = "/accounts/rebuilt/reports/campaigns?group_by=zone,day&from=2026-03-01&to=2026-03-03"
	const series = "/accounts/rebuilt/reports/webinars/w1/series?from=2026-03-01&to=2026-03-03"
	before, beforeSeries := h.api("GET", q, nil, 200), h.api("GET", series, nil, 200)
	h.srv.Close()

	h = start() // restarted: the index as it was
	if got := h.api("GET", q, nil, 200); !reflect.DeepEqual(got, before) {
		t.Errorf("after a restart:\n%v\nwant\n%v", got, before)
	}
	h.srv.Close()
	if err := os.RemoveAll(filepath.Dir(h.srv.cfg.HitIndexPath())); err != nil {
		t.Fatal(err)
	}
	h = start() // rebuilt from the rows log
	h.settle()
	if got := h.api("GET", q, nil, 200); !reflect.DeepEqual(got, before) {
		t.Errorf("rebuilt:\n%v\nwant\n%v", got, before)
	}
	if got := h.api("GET", series, nil, 200); !reflect.DeepEqual(got, beforeSeries) {
		t.Errorf("rebuilt series (bob erased):\n%v\nwant\n%v", got, beforeSeries)
	}
}

// The account's report options: a time zone and exchange rates, checked
// and shown back.
func TestAccountReportOptions(t *testing.T) {
	h := newHarness(t, embeddedLedger(t))
	a := "/accounts/" + h.acct
	got := h.api("PUT", a, map[string]any{"name": "T", "default_currency": "EUR", "timezone": "Europe/Paris",
		"rates": map[string]any{"usd": "0.92", "GBP": "1.17"}}, 200)
	if got["timezone"] != "Europe/Paris" || !reflect.DeepEqual(got["rates"], map[string]any{"USD": "0.92", "GBP": "1.17"}) {
		t.Errorf("put: %v", got)
	}
	if got := h.api("GET", a, nil, 200); got["timezone"] != "Europe/Paris" || got["rates"].(map[string]any)["GBP"] != "1.17" {
		t.Errorf("get: %v", got)
	}
	for _, body := range []map[string]any{
		{"default_currency": "EUR", "timezone": "Mars/Olympus"},
		{"default_currency": "EUR", "rates": map[string]any{"EUR": "1"}},
		{"default_currency": "EUR", "rates": map[string]any{"USD": "-1"}},
		{"default_currency": "EUR", "rates": map[string]any{"USD": "1e3"}},
		{"default_currency": "EUR", "rates": map[string]any{"XXQ": "1"}},
		{"default_currency": "EUR", "rates": map[string]any{"USD": "0"}},
	} {
		h.api("PUT", a, body, 400)
	}
	if got := h.api("PUT", a, map[string]any{"default_currency": "USD"}, 200); got["timezone"] != "UTC" || len(got["rates"].(map[string]any)) != 0 {
		t.Errorf("a PUT without them clears them: %v", got)
	}
}

// With ClickHouse and on the embedded default, the same traffic gives the
// same reports, to the micro-unit, before and after an erasure.
func TestReportsSameOnBothStores(t *testing.T) {
	ch := clickHouse(t)
	src := newTrafficSource(t)
	embedded := newHarness(t, embeddedLedger(t), "--allow-private-targets")
	withCH := newHarnessWith(t, Deps{Ledger: embeddedLedger(t), ClickHouse: ch}, "--allow-private-targets")
	withCH.acct = embedded.acct // the same account id on both
	withCH.api("PUT", "/accounts/"+withCH.acct, map[string]any{"name": "Test", "default_currency": "USD",
		"timezone": "Europe/Paris", "rates": map[string]any{"EUR": "1.08"}}, 200)
	embedded.api("PUT", "/accounts/"+embedded.acct, map[string]any{"name": "Test", "default_currency": "USD",
		"timezone": "Europe/Paris", "rates": map[string]any{"EUR": "1.08"}}, 200)
	a := "/accounts/" + embedded.acct
	for _, h := range []*harness{embedded, withCH} {
		reportTraffic(h, src.URL)
		// Ann converts a click of a campaign without network through the
		// conversion pixel: her erasure strips that click's macros (zone
		// 77) on both stores.
		h.api("PUT", a+"/campaigns/camp2", map[string]any{"offer_url": "https://offer.example/?s1={clickid}"}, 200)
		cid := h.clickThrough("camp2", "external_id=ANN-EXT&zone_id=77&country=FR")
		h.clock.add(time.Second)
		h.pixel("cid=" + cid + "&email=ann@example.com&amount=12&orderId=C2")
		h.settle()
	}
	paths := []string{
		"/reports/campaigns?group_by=campaign,zone,country&preset=this_month",
		"/reports/campaigns?group_by=zone&preset=this_month",
		"/reports/campaigns?group_by=day,source,network&from=2026-03-01&to=2026-03-02&tz=Asia/Tokyo",
		"/reports/campaigns?group_by=country&campaign=camp1&zone=42&preset=last_7_days",
		"/reports/webinars/w1/series?preset=this_month",
		"/reports/hits?preset=last_30_days",
	}
	compare := func(when string) {
		t.Helper()
		withCH.shipped()
		for _, p := range paths {
			want := jsonOf(t, embedded.api("GET", a+p, nil, 200))
			if got := jsonOf(t, withCH.api("GET", a+p, nil, 200)); got != want {
				t.Errorf("%s %s:\nClickHouse %s\nembedded   %s", p, when, got, want)
			}
		}
	}
	compare("before the erasure")
	for _, h := range []*harness{embedded, withCH} {
		h.api("DELETE", a+"/attendees/ann@example.com", nil, 200)
	}
	compare("after the erasure")
}

// shipped waits until every hit recorded so far is in ClickHouse.
func (h *harness) shipped() {
	h.t.Helper()
	h.settle()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := h.srv.shipper.WaitShipped(ctx, h.srv.pipeline.Rows().End()); err != nil {
		h.t.Fatalf("waiting for the rows to reach ClickHouse: %v", err)
	}
}

func jsonOf(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
