package reportstest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/report"
	"github.com/pixelpost/pixelpost/storage"
)

// Case is one query of the suite: Query asks a store and shapes the answer
// as the API does (its JSON is what Compare compares); Check, if set,
// holds the hand-computed answer.
type Case struct {
	Name  string
	Query func(ctx context.Context, src storage.Reports) (any, error)
	Check func(t *testing.T, got any)
}

// Run checks src, fed Hits (in any order, any number of times, with
// Replayed copies), against the hand-computed answers.
func Run(t *testing.T, src storage.Reports) {
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) {
			got, err := c.Query(t.Context(), src)
			if err != nil {
				t.Fatal(err)
			}
			if c.Check != nil {
				c.Check(t, got)
			}
		})
	}
}

// Compare runs every case on two stores fed the same rows and requires the
// same JSON from both.
func Compare(t *testing.T, a, b storage.Reports) {
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) {
			ga, err := c.Query(t.Context(), a)
			if err != nil {
				t.Fatalf("first store: %v", err)
			}
			gb, err := c.Query(t.Context(), b)
			if err != nil {
				t.Fatalf("second store: %v", err)
			}
			ja, _ := json.MarshalIndent(ga, "", " ")
			jb, _ := json.MarshalIndent(gb, "", " ")
			if !bytes.Equal(ja, jb) {
				t.Errorf("the stores answer differently\nfirst:  %s\nsecond: %s", ja, jb)
			}
		})
	}
}

var period = report.Range{From: From, To: To}

// Cases are the suite's queries.
func Cases() []Case {
	var cases []Case
	cases = append(cases, campaignCases()...)
	cases = append(cases, seriesCases()...)
	cases = append(cases, logCases()...)
	return cases
}

// row is the expected sums of a campaign report row: its group values
// joined by "/", counts, and money as "EUR 1.00, USD 6.20" (sorted).
type row struct {
	group                              string
	clicks, conv, appr, pend, decl, cb int64
	revenue, cost                      string
}

func (w row) check(t *testing.T, dims []string, got report.CampaignRow) {
	t.Helper()
	var g []string
	for _, d := range dims {
		g = append(g, got.Group[d])
	}
	have := row{strings.Join(g, "/"), got.Clicks, got.Conversions, got.Approved, got.Pending, got.Declined,
		got.Chargeback, moneyText(got.Revenue), moneyText(got.Cost)}
	if have != w {
		t.Errorf("row\n got %+v\nwant %+v", have, w)
	}
}

func moneyText(m map[string]string) string {
	var out []string
	for c, v := range m {
		out = append(out, c+" "+v)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func str(p *string) string {
	if p == nil {
		return "null"
	}
	return *p
}

func campaign(name, account string, q report.CampaignQuery, rates map[string]string, want []row, total row,
	extra func(t *testing.T, r report.CampaignReport)) Case {
	return Case{
		Name: "campaigns/" + name,
		Query: func(ctx context.Context, src storage.Reports) (any, error) {
			rs, err := report.ParseRates(rates, "USD")
			if err != nil {
				return nil, err
			}
			res, err := src.CampaignSums(ctx, account, q)
			if err != nil {
				return nil, err
			}
			return report.Campaign(q, res, rs), nil
		},
		Check: func(t *testing.T, got any) {
			r := got.(report.CampaignReport)
			if len(r.Rows) != len(want) {
				t.Errorf("%d rows, want %d: %+v", len(r.Rows), len(want), r.Rows)
				return
			}
			for i := range want {
				want[i].check(t, q.GroupBy, r.Rows[i])
			}
			total.check(t, nil, r.Totals)
			if extra != nil {
				extra(t, r)
			}
		},
	}
}

func campaignCases() []Case {
	byCampaign := report.CampaignQuery{GroupBy: []string{report.DimCampaign}, Range: period}
	c1 := row{"c1", 3, 5, 4, 0, 0, 1, "USD 6.20", "USD 0.04"}
	c2 := row{"c2", 2, 2, 2, 0, 0, 0, "EUR 1.00, USD 4.00", "EUR 0.05"}
	total := row{"", 5, 7, 6, 0, 0, 1, "EUR 1.00, USD 10.20", "EUR 0.05, USD 0.04"}
	return []Case{
		campaign("by campaign", Acme, byCampaign, nil, []row{c1, c2}, total, func(t *testing.T, r report.CampaignReport) {
			a, b := r.Rows[0], r.Rows[1]
			// CR from approved conversions; EPC, CPC, ROI rounded for display.
			if str(a.CR) != "133.33" || a.EPC["USD"] != "2.07" || a.CPC["USD"] != "0.01" || a.Profit["USD"] != "6.16" || a.ROI["USD"] != "15400.00" {
				t.Errorf("c1 figures: %+v", a)
			}
			if cv := a.Converted; cv == nil || cv.Revenue != "6.20" || cv.Cost != "0.04" || cv.Profit != "6.16" ||
				str(cv.EPC) != "2.07" || str(cv.ROI) != "15400.00" || len(cv.Rates) != 0 {
				t.Errorf("c1 in USD: %+v", a.Converted)
			}
			// Two currencies and no rate: per-currency figures, no ROI, nothing converted.
			if str(b.CR) != "100.00" || b.EPC["EUR"] != "0.50" || b.CPC["EUR"] != "0.03" || b.Profit["EUR"] != "0.95" ||
				len(b.ROI) != 0 || b.Converted != nil {
				t.Errorf("c2 figures: %+v", b)
			}
			if str(r.Totals.CR) != "120.00" || !slices.Equal(r.MissingRates, []string{"EUR"}) || r.Currency != "USD" {
				t.Errorf("totals: %+v, missing rates %v", r.Totals, r.MissingRates)
			}
		}),
		campaign("at fixed rates", Acme, byCampaign, map[string]string{"EUR": "1.08"}, []row{c1, c2}, total,
			func(t *testing.T, r report.CampaignReport) {
				cv := r.Rows[1].Converted
				// 4.00 USD + 1.00 EUR * 1.08; cost 0.05 EUR * 1.08 = 0.054 USD, exact.
				if cv == nil || cv.Revenue != "5.08" || cv.Cost != "0.054" || cv.Profit != "5.026" || str(cv.EPC) != "2.54" ||
					str(cv.CPC) != "0.03" || str(cv.ROI) != "9307.41" || cv.Rates["EUR"] != "1.08" || cv.Currency != "USD" {
					t.Errorf("c2 converted: %+v", cv)
				}
				if tv := r.Totals.Converted; tv == nil || tv.Revenue != "11.28" || tv.Cost != "0.094" || tv.Profit != "11.186" ||
					str(tv.EPC) != "2.26" || str(tv.CPC) != "0.02" || str(tv.ROI) != "11900.00" {
					t.Errorf("totals converted: %+v", tv)
				}
				if len(r.MissingRates) != 0 {
					t.Errorf("missing rates %v", r.MissingRates)
				}
			}),
		campaign("three levels", Acme, report.CampaignQuery{GroupBy: []string{"campaign", "zone", "country"}, Range: period}, nil,
			[]row{
				{"c1/z1/US", 2, 4, 4, 0, 0, 0, "USD 6.20", "USD 0.02"},
				// approved, then charged back: a conversion, revenue 0, not approved
				{"c1/z2/DE", 1, 1, 0, 0, 0, 1, "USD 0.00", "USD 0.02"},
				{"c2/z1/US", 1, 1, 1, 0, 0, 0, "USD 4.00", "EUR 0.05"},
				{"c2/z2/FR", 1, 1, 1, 0, 0, 0, "EUR 1.00", ""},
			}, total, func(t *testing.T, r report.CampaignReport) {
				if z2 := r.Rows[1]; z2.Profit["USD"] != "-0.02" || z2.ROI["USD"] != "-100.00" || z2.EPC["USD"] != "0.00" || str(z2.CR) != "0.00" {
					t.Errorf("c1/z2: %+v", z2)
				}
			}),
		campaign("drill-down to the zones of c1", Acme,
			report.CampaignQuery{GroupBy: []string{"zone"}, Filters: map[string]string{"campaign": "c1"}, Range: period}, nil,
			[]row{{"z1", 2, 4, 4, 0, 0, 0, "USD 6.20", "USD 0.02"}, {"z2", 1, 1, 0, 0, 0, 1, "USD 0.00", "USD 0.02"}}, c1.total(), nil),
		campaign("drill-down by source", Acme,
			report.CampaignQuery{GroupBy: []string{"campaign"}, Filters: map[string]string{"source": "s2"}, Range: period}, nil,
			[]row{c2}, c2.total(), nil),
		campaign("day in Tokyo", Acme, report.CampaignQuery{GroupBy: []string{"day"}, Range: period, TZ: "Asia/Tokyo"}, nil,
			[]row{
				// k2's conversion is pending on the 10th, approved on the 11th.
				{"2024-03-10", 3, 4, 3, 1, 0, 0, "USD 6.70", "EUR 0.05, USD 0.02"},
				{"2024-03-11", 2, 4, 3, 0, 0, 1, "EUR 1.00, USD 3.50", "USD 0.02"},
			}, total, nil),
		campaign("day in UTC", Acme, report.CampaignQuery{GroupBy: []string{"day"}, Range: period}, nil,
			[]row{
				{"2024-03-10", 5, 6, 5, 0, 0, 1, "EUR 1.00, USD 9.70", "EUR 0.05, USD 0.04"},
				{"2024-03-11", 0, 1, 1, 0, 0, 0, "USD 0.50", ""},
			}, total, func(t *testing.T, r report.CampaignReport) {
				if d := r.Rows[1]; d.CR != nil || len(d.EPC) != 0 || len(d.CPC) != 0 || d.Profit["USD"] != "0.50" || len(d.ROI) != 0 {
					t.Errorf("a day without clicks: %+v", d)
				}
			}),
		campaign("one day of Tokyo by campaign", Acme,
			report.CampaignQuery{GroupBy: []string{"campaign"}, Filters: map[string]string{"day": "2024-03-11"}, Range: period, TZ: "Asia/Tokyo"}, nil,
			[]row{{"c1", 1, 3, 2, 0, 0, 1, "USD 3.50", "USD 0.02"}, {"c2", 1, 1, 1, 0, 0, 0, "EUR 1.00", ""}},
			row{"", 2, 4, 3, 0, 0, 1, "EUR 1.00, USD 3.50", "USD 0.02"}, nil),
		campaign("source and network", Acme, report.CampaignQuery{GroupBy: []string{"source", "network"}, Range: period}, nil,
			// Postbacks carry no source, and p9 no network: both are their
			// click's (k0's, although it is before the period).
			[]row{{"s1/n1", 3, 5, 4, 0, 0, 1, "USD 6.20", "USD 0.04"}, {"s2/n2", 2, 2, 2, 0, 0, 0, "EUR 1.00, USD 4.00", "EUR 0.05"}},
			total, nil),
		campaign("country", Acme, report.CampaignQuery{GroupBy: []string{"country"}, Range: period}, nil,
			[]row{
				{"DE", 1, 1, 0, 0, 0, 1, "USD 0.00", "USD 0.02"},
				{"FR", 1, 1, 1, 0, 0, 0, "EUR 1.00", ""},
				{"US", 3, 5, 5, 0, 0, 0, "USD 10.20", "EUR 0.05, USD 0.02"},
			}, total, nil),
		campaign("totals only", Acme, report.CampaignQuery{Range: period}, nil, []row{total}, total, nil),
		campaign("all time", Acme, report.CampaignQuery{GroupBy: []string{"campaign"}}, nil,
			// k0 and the postback at To join in.
			[]row{{"c1", 4, 6, 5, 0, 0, 1, "USD 15.20", "USD 0.05"}, c2},
			row{"", 6, 8, 7, 0, 0, 1, "EUR 1.00, USD 19.20", "EUR 0.05, USD 0.05"}, nil),
		campaign("other account", Other, byCampaign, nil, []row{{"c1", 1, 0, 0, 0, 0, 0, "", "USD 0.01"}},
			row{"", 1, 0, 0, 0, 0, 0, "", "USD 0.01"}, nil),
		campaign("nobody", "nobody", byCampaign, nil, nil, row{}, nil),
	}
}

// total is the row as a totals line (no group).
func (w row) total() row { w.group = ""; return w }

func seriesCases() []Case {
	series := func(name, webinar string, r report.Range, tz string, want string) Case {
		return Case{
			Name: "series/" + name,
			Query: func(ctx context.Context, src storage.Reports) (any, error) {
				points, err := src.WebinarSeries(ctx, Shop, webinar, r, tz)
				return report.Series(points), err
			},
			Check: func(t *testing.T, got any) {
				var lines []string
				for _, d := range got.([]report.DayView) {
					lines = append(lines, fmt.Sprintf("%s %d %d %d %s", d.Day, d.Registrants, d.Sales, d.Conversions, moneyText(d.Revenue)))
				}
				if have := strings.Join(lines, "; "); have != want {
					t.Errorf("days\n got %s\nwant %s", have, want)
				}
			},
		}
	}
	ny, _ := time.LoadLocation("America/New_York") // DST starts on 2024-03-10
	nyDay := report.Range{From: time.Date(2024, 3, 10, 0, 0, 0, 0, ny), To: time.Date(2024, 3, 11, 0, 0, 0, 0, ny)}
	statuses := func(name, account string, r report.Range, want string) Case {
		return Case{
			Name: "hits/" + name,
			Query: func(ctx context.Context, src storage.Reports) (any, error) {
				counts, err := src.HitsByStatus(ctx, account, r)
				return report.Statuses(counts), err
			},
			Check: func(t *testing.T, got any) {
				var lines []string
				for _, c := range got.([]report.StatusView) {
					lines = append(lines, fmt.Sprintf("%s %s %s %d", c.Kind, c.Status, c.Reason, c.Count))
				}
				if have := strings.Join(lines, "; "); have != want {
					t.Errorf("counts\n got %s\nwant %s", have, want)
				}
			},
		}
	}
	return []Case{
		// registrants, sales, converting attendees, revenue
		series("Tokyo", "w1", period, "Asia/Tokyo", "2024-03-10 1 1 1 USD 49.99; 2024-03-11 0 2 2 EUR 20.00, USD 15.00"),
		series("UTC", "w1", period, "", "2024-03-10 1 3 2 EUR 20.00, USD 64.99"),
		series("New York on the DST day", "w1", nyDay, "America/New_York", "2024-03-10 1 3 2 EUR 20.00, USD 64.99"),
		series("another webinar", "w2", period, "UTC", "2024-03-10 0 1 1 USD 7.00"),
		series("all time", "w1", report.Range{}, "UTC", "2024-03-09 0 1 1 USD 3.00; 2024-03-10 1 3 2 EUR 20.00, USD 64.99; 2024-03-12 0 1 1 USD 3.00"),
		series("unknown webinar", "nope", period, "UTC", ""),
		statuses("shop", Shop, period, "lead accepted  1; lead rejected bad_token 1; manual accepted  1; pixel accepted  3; "+
			"pixel duplicate same_order 1; pixel rejected currency_mismatch 1; pixel updated  1; registration accepted  1"),
		statuses("acme", Acme, period, "click accepted  5; click rejected unknown_campaign 1; postback accepted  7; "+
			"postback duplicate same_conversion 1; postback rejected bad_transition 1; postback rejected unknown_click 1; postback updated  2"),
	}
}

// pages reads a log page after page (at most 10), as a client following
// next_cursor does.
func pages[T any](ctx context.Context, q report.LogQuery, read func(report.LogQuery) (storage.LogPage[T], error)) ([]logPage[T], error) {
	var out []logPage[T]
	for range 10 {
		p, err := read(q)
		if err != nil {
			return nil, err
		}
		out = append(out, logPage[T]{Entries: p.Entries, Next: p.Next.String()})
		if p.Next.IsZero() {
			break
		}
		q.Before = p.Next
	}
	return out, nil
}

type logPage[T any] struct {
	Entries []T    `json:"entries"`
	Next    string `json:"next_cursor"`
}

// idsOf lists each page's ids, pages separated by "|".
func idsOf[T any](ps []logPage[T], id func(T) string) string {
	var out []string
	for _, p := range ps {
		var ids []string
		for _, e := range p.Entries {
			ids = append(ids, id(e))
		}
		out = append(out, strings.Join(ids, " "))
	}
	return strings.Join(out, " | ")
}

func logCase[T any](name, account string, q report.LogQuery, read func(context.Context, storage.Reports, string, report.LogQuery) (storage.LogPage[T], error),
	id func(T) string, want string, extra func(t *testing.T, ps []logPage[T])) Case {
	return Case{
		Name: "logs/" + name,
		Query: func(ctx context.Context, src storage.Reports) (any, error) {
			return pages(ctx, q, func(q report.LogQuery) (storage.LogPage[T], error) { return read(ctx, src, account, q) })
		},
		Check: func(t *testing.T, got any) {
			ps := got.([]logPage[T])
			if have := idsOf(ps, id); have != want {
				t.Errorf("pages\n got %s\nwant %s", have, want)
				return // the entries' checks below expect these ones
			}
			if extra != nil {
				extra(t, ps)
			}
		},
	}
}

func logCases() []Case {
	clickID := func(e report.ClickEntry) string { return e.HitID }
	convID := func(e report.ConversionEntry) string { return e.History[0].HitID }
	withStatus := func(s string) func(context.Context, storage.Reports, string, report.LogQuery) (storage.LogPage[report.ConversionEntry], error) {
		return func(ctx context.Context, src storage.Reports, acct string, q report.LogQuery) (storage.LogPage[report.ConversionEntry], error) {
			return storage.ConversionLog(ctx, src, acct, q, s)
		}
	}
	return []Case{
		logCase("clicks, 3 a page", Acme, report.LogQuery{Range: period, Limit: 3}, storage.ClickLog, clickID,
			"hit-k5 hit-k3 k-bad | hit-k4 hit-k2 hit-k1 | ", func(t *testing.T, ps []logPage[report.ClickEntry]) {
				k5 := ps[0].Entries[0]
				if k5.Campaign != "c2" || k5.Source != "s2" || k5.Zone != "z2" || k5.Country != "FR" || k5.Cost.Currency != "EUR" ||
					k5.Cost.Amount != "0.00" || k5.Macros["email"] != "REDACTED" || k5.Time != utc(16, 0) {
					t.Errorf("k5: %+v", k5)
				}
			}),
		logCase("clicks of zone z1", Acme, report.LogQuery{Range: period, Zone: "z1"}, storage.ClickLog, clickID, "hit-k4 hit-k2 hit-k1", nil),
		logCase("clicks of source s2", Acme, report.LogQuery{Range: period, Source: "s2"}, storage.ClickLog, clickID, "hit-k5 hit-k4", nil),
		logCase("clicks from DE of c1", Acme, report.LogQuery{Range: period, Country: "DE", Campaign: "c1"}, storage.ClickLog, clickID, "hit-k3", nil),
		logCase("conversions", Acme, report.LogQuery{Range: period}, withStatus(""), convID, "p1b p9 p5 p3 p7 p1 p0",
			func(t *testing.T, ps []logPage[report.ConversionEntry]) {
				e := ps[0].Entries
				// p3 was pending, then approved by p4.
				if p3 := e[3]; p3.Status != "approved" || len(p3.History) != 2 || p3.History[0].ConvStatus != "pending" ||
					p3.Payout != (report.Money{Amount: "3.00", Currency: "USD"}) || p3.Revenue["USD"] != "3.00" ||
					p3.ClickTime == nil || !p3.ClickTime.Equal(utc(14, 10)) || p3.Source != "s1" || p3.Zone != "z1" {
					t.Errorf("p3's conversion: %+v", p3)
				}
				if p5 := e[2]; p5.Status != "chargeback" || p5.Revenue["USD"] != "0.00" || p5.History[1].Delta != "-1.50" {
					t.Errorf("p5's conversion: %+v", p5)
				}
				if p9 := e[1]; p9.Network != "n2" || p9.Goal != "lead" || p9.TxID != "" {
					t.Errorf("p9's conversion (network from its click): %+v", p9)
				}
			}),
		logCase("approved conversions, 2 a page", Acme, report.LogQuery{Range: period, Limit: 2}, withStatus("approved"), convID,
			"p1b p9 | p3 p7 | p1 p0 | ", nil),
		logCase("chargebacks", Acme, report.LogQuery{Range: period}, withStatus("chargeback"), convID, "p5", nil),
		logCase("conversions of c2", Acme, report.LogQuery{Range: period, Campaign: "c2"}, withStatus(""), convID, "p9 p7", nil),
		logCase("conversions all time", Acme, report.LogQuery{}, withStatus(""), convID, "late p1b p9 p5 p3 p7 p1 p0", nil),
		logCase("leads", Shop, report.LogQuery{Range: period}, storage.LeadLog, func(e report.LeadEntry) string { return e.HitID }, "l2 l1",
			func(t *testing.T, ps []logPage[report.LeadEntry]) {
				if l := ps[0].Entries[1]; l.Endpoint != "card1" || l.AttendeeID != "A" || !strings.Contains(l.Query, "source=TWITTER") {
					t.Errorf("l1: %+v", l)
				}
			}),
		logCase("purchases of w1", Shop, report.LogQuery{Range: period, Webinar: "w1"}, storage.PurchaseLog,
			func(e report.PurchaseEntry) string { return e.HitID }, "m1 r1 d1 u1 a2 a1",
			func(t *testing.T, ps []logPage[report.PurchaseEntry]) {
				if a2 := ps[0].Entries[4]; a2.OrderID != "o-a2" || a2.Amount != (report.Money{Amount: "20.00", Currency: "EUR"}) ||
					a2.Delta != "20.00" || a2.AttendeeID != "B" || a2.ProductName != "Course" || !slices.Equal(a2.Webinars, []string{"w1"}) {
					t.Errorf("a2: %+v", a2)
				}
			}),
		logCase("one order", Shop, report.LogQuery{OrderID: "o-a1"}, storage.PurchaseLog,
			func(e report.PurchaseEntry) string { return e.HitID }, "a1", nil),
	}
}
