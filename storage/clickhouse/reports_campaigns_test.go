package clickhouse

import (
	"errors"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/report"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/reportstest"
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

// The report suite's hand-computed answers from ClickHouse, whatever the
// order of the rows, their repetition and the degraded copies of a crash
// replay (FINAL).
func TestReportSuite(t *testing.T) {
	hits := reportstest.Hits()
	for _, tt := range []struct {
		name    string
		batches [][]storage.Hit
	}{
		{"once", [][]storage.Hit{hits}},
		{"twice, replayed copies between", [][]storage.Hit{hits, reportstest.Replayed(hits), hits}},
		{"replayed copies first", [][]storage.Hit{reportstest.Replayed(hits), hits}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := openTest(t)
			for _, b := range tt.batches {
				if err := c.Insert(t.Context(), b); err != nil {
					t.Fatal(err)
				}
			}
			reportstest.Run(t, c)
		})
	}
}

// Bad dimensions and time zones are refused before any SQL is built, and
// quotes in values stay values.
func TestCampaignSumsRefuses(t *testing.T) {
	c := openTest(t)
	for _, g := range [][]string{{"offer"}, {"campaign", "campaign"}, {""}, {"Campaign"}, {"zone", "g0) FROM hits --"},
		{"campaign", "zone", "country", "day"}} {
		q := report.CampaignQuery{GroupBy: g}
		if _, err := c.CampaignSums(t.Context(), "acme", q); !errors.Is(err, report.ErrBadQuery) {
			t.Errorf("group_by %q: %v", g, err)
		}
	}
	if _, err := c.CampaignSums(t.Context(), "acme", report.CampaignQuery{GroupBy: []string{"day"}, TZ: "Mars/Olympus"}); !errors.Is(err, report.ErrBadQuery) {
		t.Errorf("bad time zone: %v", err)
	}
	q := report.CampaignQuery{GroupBy: []string{"zone"}, Filters: map[string]string{"campaign": "c1' OR 1=1 --", "day": "x"}}
	if res, err := c.CampaignSums(t.Context(), "acme' OR 1=1 --", q); err != nil || len(res.Groups) != 0 {
		t.Errorf("quotes: %+v, %v", res, err)
	}
}
