package clickhouse

import (
	"errors"
	"maps"
	"reflect"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

// s2sClick builds an accepted click of campaign c1 (source s1, network n1,
// USD); opts adjust it.
func s2sClick(id string, at time.Time, macros map[string]string, cost int64, opts ...func(*storage.Hit)) storage.Hit {
	h := storage.Hit{
		ID: "hit-" + id, Time: at, Account: "acme", Kind: storage.KindClick, Status: storage.StatusAccepted,
		ClickID: id, CampaignID: "c1", SourceID: "s1", NetworkID: "n1", Currency: "USD",
		Macros: macros, Cost: attribution.Micros(cost), ClickTTL: 30 * 24 * time.Hour,
		Valuation: &storage.Valuation{Payout: "1000000"},
		IP:        "203.0.113.0", UserAgent: "ua", Query: "zone_id=z1",
	}
	for _, o := range opts {
		o(&h)
	}
	return h
}

func campaign2(h *storage.Hit) {
	h.CampaignID, h.SourceID, h.NetworkID, h.Currency = "c2", "s2", "n2", "EUR"
}

// s2sPostback builds a postback row for click as the ledger decided it:
// campaign and macros copied from the click, no source id, the network
// of the postback URL (n1 unless changed).
func s2sPostback(id string, at time.Time, click storage.Hit, st storage.Status, reason, conv string, delta int64, currency, txid string) storage.Hit {
	return storage.Hit{
		ID: id, Time: at, Account: "acme", Kind: storage.KindPostback, Status: st, Reason: reason,
		ClickID: click.ClickID, CampaignID: click.CampaignID, Macros: click.Macros,
		HasAmount: true, Amount: attribution.Micros(max(delta, -delta)), Delta: attribution.Micros(delta),
		Currency: currency, TxID: txid, ConvStatus: conv, RawStatus: conv + "-raw", NetworkID: "n1",
		Goal: "sale", Query: "cid=" + click.ClickID,
	}
}

func zoneCountry(zoneKey, zone, country string) map[string]string {
	return map[string]string{zoneKey: zone, "country": country, "external_id": "ext", "cost": "x"}
}

// campaignFixture: campaign c1 (source s1, network n1, cost in USD) and c2
// (s2, n2, cost in EUR; its network pays in USD and in EUR). Asia/Tokyo
// is UTC+9: from 15:00 UTC on the 10th it is the 11th there.
func campaignFixture() []storage.Hit {
	k0 := s2sClick("k0", utc(10, 0, 9), zoneCountry("zone_id", "z1", "US"), 10_000) // before from; its postback is in range
	k1 := s2sClick("k1", utc(14, 0), zoneCountry("zone_id", "z1", "US"), 10_000)
	k2 := s2sClick("k2", utc(14, 10), zoneCountry("zone_id", "z1", "US"), 10_000)
	k3 := s2sClick("k3", utc(15, 30), zoneCountry("zoneid", "z2", "DE"), 20_000) // Tokyo 11th; zone as zoneid
	k4 := s2sClick("k4", utc(14, 20), zoneCountry("zone_id", "z1", "US"), 50_000, campaign2)
	k5 := s2sClick("k5", utc(16, 0), zoneCountry("zone_id", "z2", "FR"), 0, campaign2) // Tokyo 11th; no cost

	pb := func(id string, at time.Time, click storage.Hit, st storage.Status, conv string, delta int64, cur, txid string) storage.Hit {
		return s2sPostback(id, at, click, st, "", conv, delta, cur, txid)
	}
	p9 := pb("p9", utc(16, 30), k5, storage.StatusAccepted, "approved", 1_000_000, "EUR", "") // Tokyo 11th
	p9.NetworkID, p9.Goal = "", "lead"                                                        // generic postback URL: network from the click
	p7 := pb("p7", utc(14, 45), k4, storage.StatusAccepted, "approved", 4_000_000, "USD", "t7")
	p7.NetworkID = "n2"
	p8 := s2sPostback("p8", utc(14, 55), k4, storage.StatusRejected, storage.ReasonBadTransition, "pending", 0, "USD", "t7")
	p8.NetworkID = "n2"
	unknown := storage.Hit{ID: "p-unknown", Time: utc(15, 0), Account: "acme", Kind: storage.KindPostback,
		Status: storage.StatusRejected, Reason: "unknown_click", ClickID: "nope", Delta: 0, Currency: "USD", ConvStatus: "approved"}
	badClick := storage.Hit{ID: "k-bad", Time: utc(15, 0), Account: "acme", Kind: storage.KindClick,
		Status: storage.StatusRejected, Reason: "unknown_campaign", CampaignID: "c9", Cost: 99, Currency: "USD"}
	other := s2sClick("k-other", utc(14, 0), zoneCountry("zone_id", "z1", "US"), 10_000,
		func(h *storage.Hit) { h.Account = "other" })

	return []storage.Hit{
		k0, k1, k2, k3, k4, k5,
		pb("p0", utc(13, 0), k0, storage.StatusAccepted, "approved", 700_000, "USD", "t0"),
		pb("p1", utc(14, 30), k1, storage.StatusAccepted, "approved", 2_000_000, "USD", "t1"),
		s2sPostback("p2", utc(14, 40), k1, storage.StatusDuplicate, storage.ReasonSameConversion, "approved", 0, "USD", "t1"),
		pb("p3", utc(14, 50), k2, storage.StatusAccepted, "pending", 0, "USD", "t2"),
		pb("p4", utc(15, 10), k2, storage.StatusUpdated, "approved", 3_000_000, "USD", "t2"), // Tokyo 11th
		pb("p5", utc(16, 0), k3, storage.StatusAccepted, "approved", 1_500_000, "USD", "t3"),
		pb("p6", utc(17, 0), k3, storage.StatusUpdated, "chargeback", -1_500_000, "USD", "t3"),
		p7, p8, p9,
		pb("p1b", utc(9, 0, 11), k1, storage.StatusAccepted, "approved", 500_000, "USD", "t1b"), // UTC 11th
		unknown, badClick, other,
		hit("px", utc(14, 0)), // a webinar sale: not a campaign row
		pb("late", to, k1, storage.StatusAccepted, "approved", 9_000_000, "USD", "t-late"),
	}
}

// crow builds an expected row; derive fills in CR, EPC, Profit and ROI,
// which the cases below also spell out where it matters.
func crow(clicks, conv, approved int64, revenue, cost map[string]int64, set func(*CampaignRow)) CampaignRow {
	r := CampaignRow{Clicks: clicks, Conversions: conv, Approved: approved, Revenue: revenue, Cost: cost}
	if set != nil {
		set(&r)
	}
	r.derive()
	return r
}

type byCur = map[string]int64

var campaignCases = []struct {
	name    string
	groupBy []string
	tz      string
	want    []CampaignRow
	check   func(t *testing.T, got []CampaignRow)
}{
	{
		name: "campaign", groupBy: []string{"campaign"},
		want: []CampaignRow{
			crow(3, 5, 4, byCur{"USD": 6_200_000}, byCur{"USD": 40_000}, func(r *CampaignRow) { r.Campaign = "c1" }),
			crow(2, 2, 2, byCur{"USD": 4_000_000, "EUR": 1_000_000}, byCur{"EUR": 50_000}, func(r *CampaignRow) { r.Campaign = "c2" }),
		},
		check: func(t *testing.T, got []CampaignRow) {
			c1, c2 := got[0], got[1]
			if c1.CR != 5.0/3 || !reflect.DeepEqual(c1.EPC, byCur{"USD": 2_066_667}) ||
				!reflect.DeepEqual(c1.Profit, byCur{"USD": 6_160_000}) || !reflect.DeepEqual(c1.ROI, map[string]float64{"USD": 154}) {
				t.Errorf("c1 derived: %+v", c1)
			}
			// Revenue in two currencies, cost in one: profit per currency,
			// no ROI.
			if c2.CR != 1 || !reflect.DeepEqual(c2.EPC, byCur{"USD": 2_000_000, "EUR": 500_000}) ||
				!reflect.DeepEqual(c2.Profit, byCur{"USD": 4_000_000, "EUR": 950_000}) || len(c2.ROI) != 0 || c2.ROI == nil {
				t.Errorf("c2 derived: %+v", c2)
			}
		},
	},
	{
		name: "campaign and zone", groupBy: []string{"campaign", "zone"},
		want: []CampaignRow{
			crow(2, 4, 4, byCur{"USD": 6_200_000}, byCur{"USD": 20_000}, func(r *CampaignRow) { r.Campaign, r.Zone = "c1", "z1" }),
			// approved then charged back: a conversion, revenue 0, not approved
			crow(1, 1, 0, byCur{"USD": 0}, byCur{"USD": 20_000}, func(r *CampaignRow) { r.Campaign, r.Zone = "c1", "z2" }),
			crow(1, 1, 1, byCur{"USD": 4_000_000}, byCur{"EUR": 50_000}, func(r *CampaignRow) { r.Campaign, r.Zone = "c2", "z1" }),
			crow(1, 1, 1, byCur{"EUR": 1_000_000}, byCur{}, func(r *CampaignRow) { r.Campaign, r.Zone = "c2", "z2" }),
		},
		check: func(t *testing.T, got []CampaignRow) {
			if r := got[0]; r.CR != 2 || r.EPC["USD"] != 3_100_000 || r.ROI["USD"] != 309 {
				t.Errorf("c1/z1 derived: %+v", r)
			}
			if r := got[1]; r.Profit["USD"] != -20_000 || r.ROI["USD"] != -1 || r.EPC["USD"] != 0 {
				t.Errorf("c1/z2 derived: %+v", r)
			}
			if r := got[2]; !reflect.DeepEqual(r.Profit, byCur{"USD": 4_000_000, "EUR": -50_000}) || len(r.ROI) != 0 {
				t.Errorf("c2/z1 derived: %+v", r)
			}
			if r := got[3]; !reflect.DeepEqual(r.Profit, byCur{"EUR": 1_000_000}) || len(r.ROI) != 0 {
				t.Errorf("c2/z2 derived (no cost, no ROI): %+v", r)
			}
		},
	},
	{
		// Each row on its own day: k2's conversion is pending on the 10th
		// and approved on the 11th (Tokyo).
		name: "day in Tokyo", groupBy: []string{"day"}, tz: "Asia/Tokyo",
		want: []CampaignRow{
			crow(3, 4, 3, byCur{"USD": 6_700_000}, byCur{"USD": 20_000, "EUR": 50_000}, func(r *CampaignRow) { r.Day = "2024-03-10" }),
			crow(2, 3, 3, byCur{"USD": 3_500_000, "EUR": 1_000_000}, byCur{"USD": 20_000}, func(r *CampaignRow) { r.Day = "2024-03-11" }),
		},
		check: func(t *testing.T, got []CampaignRow) {
			if r := got[0]; r.EPC["USD"] != 2_233_333 || len(r.ROI) != 0 || r.CR != 4.0/3 {
				t.Errorf("10th derived: %+v", r)
			}
		},
	},
	{
		name: "day in UTC", groupBy: []string{"day"},
		want: []CampaignRow{
			crow(5, 6, 5, byCur{"USD": 9_700_000, "EUR": 1_000_000}, byCur{"USD": 40_000, "EUR": 50_000}, func(r *CampaignRow) { r.Day = "2024-03-10" }),
			crow(0, 1, 1, byCur{"USD": 500_000}, byCur{}, func(r *CampaignRow) { r.Day = "2024-03-11" }),
		},
		check: func(t *testing.T, got []CampaignRow) {
			if r := got[1]; r.CR != 0 || len(r.EPC) != 0 || r.EPC == nil || r.Profit["USD"] != 500_000 || len(r.ROI) != 0 {
				t.Errorf("11th (no clicks) derived: %+v", r)
			}
		},
	},
	{
		name: "country", groupBy: []string{"country"},
		want: []CampaignRow{
			crow(1, 1, 0, byCur{"USD": 0}, byCur{"USD": 20_000}, func(r *CampaignRow) { r.Country = "DE" }),
			crow(1, 1, 1, byCur{"EUR": 1_000_000}, byCur{}, func(r *CampaignRow) { r.Country = "FR" }),
			crow(3, 5, 5, byCur{"USD": 10_200_000}, byCur{"USD": 20_000, "EUR": 50_000}, func(r *CampaignRow) { r.Country = "US" }),
		},
	},
	{
		// Postbacks carry no source, and p9 no network: both come from
		// the click (k0's although it is before from).
		name: "source and network", groupBy: []string{"source", "network"},
		want: []CampaignRow{
			crow(3, 5, 4, byCur{"USD": 6_200_000}, byCur{"USD": 40_000}, func(r *CampaignRow) { r.Source, r.Network = "s1", "n1" }),
			crow(2, 2, 2, byCur{"USD": 4_000_000, "EUR": 1_000_000}, byCur{"EUR": 50_000}, func(r *CampaignRow) { r.Source, r.Network = "s2", "n2" }),
		},
	},
	{
		name: "network, campaign, zone, country, day and source", groupBy: []string{"network", "campaign", "zone", "country", "day", "source"},
		check: func(t *testing.T, got []CampaignRow) {
			var clicks, conv int64
			for _, r := range got {
				clicks += r.Clicks
				conv += r.Conversions
				if r.Campaign == "" || r.Source == "" || r.Network == "" || r.Zone == "" || r.Country == "" || r.Day == "" {
					t.Errorf("missing group value: %+v", r)
				}
			}
			if clicks != 5 || conv != 7 || len(got) != 5 { // UTC: c1/z1/US on the 10th and 11th, c1/z2/DE, c2/z1/US, c2/z2/FR
				t.Errorf("%d rows, %d clicks, %d conversions: %+v", len(got), clicks, conv, got)
			}
		},
	},
	{
		name: "totals", groupBy: nil,
		want: []CampaignRow{
			crow(5, 7, 6, byCur{"USD": 10_200_000, "EUR": 1_000_000}, byCur{"USD": 40_000, "EUR": 50_000}, nil),
		},
	},
}

func checkCampaignReports(t *testing.T, c *Client) {
	t.Helper()
	for _, tt := range campaignCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.CampaignReport(t.Context(), "acme", tt.groupBy, from, to, tt.tz)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("\n got %+v\nwant %+v", got, tt.want)
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

func TestCampaignReport(t *testing.T) {
	c := openTest(t)
	if err := c.Insert(t.Context(), campaignFixture()); err != nil {
		t.Fatal(err)
	}
	checkCampaignReports(t, c)

	t.Run("bad group_by", func(t *testing.T) {
		for _, g := range [][]string{{"offer"}, {"campaign", "campaign"}, {""}, {"Campaign"}, {"zone", "g0) FROM hits --"}} {
			if _, err := c.CampaignReport(t.Context(), "acme", g, from, to, ""); !errors.Is(err, ErrBadGroupBy) {
				t.Errorf("group_by %q: %v", g, err)
			}
		}
	})
	t.Run("bad time zone", func(t *testing.T) {
		if _, err := c.CampaignReport(t.Context(), "acme", []string{"day"}, from, to, "Mars/Olympus"); err == nil {
			t.Error("accepted")
		}
	})
	t.Run("other account", func(t *testing.T) {
		got, err := c.CampaignReport(t.Context(), "other", []string{"campaign"}, from, to, "")
		want := []CampaignRow{crow(1, 0, 0, byCur{}, byCur{"USD": 10_000}, func(r *CampaignRow) { r.Campaign = "c1" })}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, %v", got, err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		for _, g := range [][]string{nil, {"source"}, {"day"}} {
			got, err := c.CampaignReport(t.Context(), "nobody", g, from, to, "")
			if err != nil || len(got) != 0 {
				t.Errorf("group_by %q: %+v, %v", g, got, err)
			}
		}
	})
	t.Run("group accessor", func(t *testing.T) {
		r := CampaignRow{Campaign: "c", Source: "s", Network: "n", Zone: "z", Country: "co", Day: "d"}
		got := map[string]string{}
		for _, g := range GroupBys {
			got[g] = r.Group(g)
		}
		want := map[string]string{"campaign": "c", "source": "s", "network": "n", "zone": "z", "country": "co", "day": "d"}
		if !maps.Equal(got, want) {
			t.Errorf("%v", got)
		}
	})
}

// Rows inserted twice, and degraded replayed copies, count once.
func TestCampaignReportDedupe(t *testing.T) {
	c := openTest(t)
	hits := campaignFixture()
	for _, b := range [][]storage.Hit{hits, replayed(hits), hits} {
		if err := c.Insert(t.Context(), b); err != nil {
			t.Fatal(err)
		}
	}
	checkCampaignReports(t, c)
}
