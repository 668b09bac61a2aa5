// Package reportstest is the suite every report store passes (SPEC §5:
// the same API, the same JSON and the same figures on the embedded default
// as with ClickHouse): one set of decided rows with hand-computed answers,
// and every report and log query over it. Run checks one store against
// the hand-computed answers; Compare runs every query on two stores fed
// the same rows and compares the JSON they answer, byte for byte.
package reportstest

import (
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

// The period of most queries: 2024-03-10 and 11 in UTC. Asia/Tokyo is
// UTC+9: from 15:00 UTC on the 10th it is the 11th there.
var (
	From = time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)
	To   = time.Date(2024, 3, 12, 0, 0, 0, 0, time.UTC)
)

func utc(h, m int, d ...int) time.Time {
	day := 10
	if len(d) > 0 {
		day = d[0]
	}
	return time.Date(2024, 3, day, h, m, 0, 0, time.UTC)
}

// Accounts of the fixture: Shop sells webinars (pixels, registrations,
// leads), Acme buys traffic (clicks, postbacks), Other has a row that
// must never show in theirs.
const (
	Shop  = "shop"
	Acme  = "acme"
	Other = "other"
)

// Hits returns the fixture's decided rows, as the rows log holds them
// (storage.Hit.Archived: no email, cookie or profile).
func Hits() []storage.Hit {
	hits := append(shopHits(), acmeHits()...)
	for i := range hits {
		hits[i] = hits[i].Archived()
	}
	return hits
}

// sale builds a decided conversion pixel hit of webinar w1 at Shop.
func sale(id string, at time.Time, attendee string, delta int64, currency string, opts ...func(*storage.Hit)) storage.Hit {
	h := storage.Hit{
		ID: id, Time: at, Account: Shop, Kind: storage.KindPixel, Status: storage.StatusAccepted,
		Webinars: []string{"w1"}, Tags: []string{"course"}, OrderID: "o-" + id, OrderKey: "o:o-" + id,
		HasAmount: true, Amount: attribution.Micros(delta), Delta: attribution.Micros(delta), Currency: currency,
		ProductID: "p1", ProductName: "Course", Source: "pixel", Email: "someone@example.com",
		Credited: []string{"w1"}, AttendeeID: attendee, EmailSHA256: "sha-" + attendee,
		IP: "203.0.113.0", UserAgent: "ua", Referer: "https://ref/", Query: "webinarId=w1&email=REDACTED",
	}
	for _, o := range opts {
		o(&h)
	}
	return h
}

func status(s storage.Status, reason string) func(*storage.Hit) {
	return func(h *storage.Hit) { h.Status, h.Reason = s, reason }
}

func shopHits() []storage.Hit {
	reg := sale("reg1", utc(14, 5), "C", 0, "", func(h *storage.Hit) {
		h.Kind, h.OrderID, h.OrderKey, h.HasAmount, h.Amount, h.Tags, h.ProductID, h.ProductName = storage.KindRegistration, "", "", false, 0, nil, "", ""
	})
	lead := func(id string, at time.Time, st storage.Status, reason, attendee string) storage.Hit {
		return storage.Hit{ID: id, Time: at, Account: Shop, Kind: storage.KindLead, Status: st, Reason: reason,
			SourceID: "card1", AttendeeID: attendee, EmailSHA256: "sha-" + attendee, Source: "lead",
			Profile: map[string]string{"name": "Someone"}, Query: "source=TWITTER&email=REDACTED&name=REDACTED"}
	}
	return []storage.Hit{
		sale("a1", utc(14, 0), "A", 49_990_000, "USD"), // Tokyo 10th: a sale
		reg, // Tokyo 10th: a registrant
		sale("a2", utc(15, 30), "B", 20_000_000, "EUR"),                                                  // Tokyo 11th: a sale in EUR
		sale("u1", utc(16, 0), "A", 10_000_000, "USD", status(storage.StatusUpdated, "")),                // an upsell: revenue, no sale
		sale("d1", utc(16, 10), "A", 0, "USD", status(storage.StatusDuplicate, storage.ReasonSameOrder)), // a refresh
		sale("r1", utc(16, 20), "D", 5, "GBP", status(storage.StatusRejected, storage.ReasonCurrencyMismatch),
			func(h *storage.Hit) { h.Credited, h.Delta = nil, 0 }), // refused: webinar_ids is what it named
		sale("m1", utc(17, 0), "A", 5_000_000, "USD", func(h *storage.Hit) { h.Kind, h.Source = storage.KindManual, "manual" }),
		sale("w2", utc(17, 10), "E", 7_000_000, "USD", func(h *storage.Hit) { h.Webinars, h.Credited = []string{"w2"}, []string{"w2"} }),
		sale("early", utc(10, 0, 9), "A", 3_000_000, "USD"), // before From
		sale("late", To, "A", 3_000_000, "USD"),             // at To: excluded
		lead("l1", utc(12, 0), storage.StatusAccepted, "", "A"),
		lead("l2", utc(12, 30), storage.StatusRejected, "bad_token", ""),
		sale("x1", utc(14, 0), "A", 1_000_000, "USD", func(h *storage.Hit) { h.Account = Other }),
	}
}

// click builds an accepted click of campaign c1 (source s1, network n1,
// cost in USD); opts adjust it.
func click(id string, at time.Time, macros map[string]string, cost int64, opts ...func(*storage.Hit)) storage.Hit {
	h := storage.Hit{
		ID: "hit-" + id, Time: at, Account: Acme, Kind: storage.KindClick, Status: storage.StatusAccepted,
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

// postback builds a postback row for a click as the ledger decided it:
// campaign and macros copied from the click, no source id, the network
// of the postback URL (n1 unless changed), the conversion's value after it
// as Amount.
func postback(id string, at time.Time, k storage.Hit, st storage.Status, reason, conv string, delta, value int64, currency, txid string) storage.Hit {
	return storage.Hit{
		ID: id, Time: at, Account: Acme, Kind: storage.KindPostback, Status: st, Reason: reason,
		ClickID: k.ClickID, CampaignID: k.CampaignID, Macros: k.Macros,
		HasAmount: true, Amount: attribution.Micros(value), Delta: attribution.Micros(delta),
		Currency: currency, TxID: txid, ConvStatus: conv, RawStatus: conv + "-raw", NetworkID: "n1",
		Goal: "sale", Query: "cid=" + k.ClickID,
	}
}

func macros(zoneKey, zone, country string) map[string]string {
	return map[string]string{zoneKey: zone, "country": country, "external_id": "ext", "email": "a@b.example"}
}

// acmeHits: campaign c1 (source s1, network n1, cost in USD) and c2 (s2,
// n2, cost in EUR; its network pays in USD and in EUR).
func acmeHits() []storage.Hit {
	k0 := click("k0", utc(10, 0, 9), macros("zone_id", "z1", "US"), 10_000) // before From; its postback is in range
	k1 := click("k1", utc(14, 0), macros("zone_id", "z1", "US"), 10_000)
	k2 := click("k2", utc(14, 10), macros("zone_id", "z1", "US"), 10_000)
	k3 := click("k3", utc(15, 30), macros("zoneid", "z2", "DE"), 20_000) // Tokyo 11th; zone as zoneid
	k4 := click("k4", utc(14, 20), macros("zone_id", "z1", "US"), 50_000, campaign2)
	k5 := click("k5", utc(16, 0), macros("zone_id", "z2", "FR"), 0, campaign2) // Tokyo 11th; no cost

	pb := func(id string, at time.Time, k storage.Hit, st storage.Status, conv string, delta, value int64, cur, txid string) storage.Hit {
		return postback(id, at, k, st, "", conv, delta, value, cur, txid)
	}
	p9 := pb("p9", utc(16, 30), k5, storage.StatusAccepted, "approved", 1_000_000, 1_000_000, "EUR", "") // Tokyo 11th
	p9.NetworkID, p9.Goal = "", "lead"                                                                   // generic postback URL: network from the click
	p7 := pb("p7", utc(14, 45), k4, storage.StatusAccepted, "approved", 4_000_000, 4_000_000, "USD", "t7")
	p7.NetworkID = "n2"
	p8 := postback("p8", utc(14, 55), k4, storage.StatusRejected, storage.ReasonBadTransition, "pending", 0, 0, "USD", "t7")
	p8.NetworkID = "n2"
	unknown := storage.Hit{ID: "p-unknown", Time: utc(15, 0), Account: Acme, Kind: storage.KindPostback,
		Status: storage.StatusRejected, Reason: storage.ReasonUnknownClick, ClickID: "nope", Currency: "USD", ConvStatus: "approved"}
	badClick := storage.Hit{ID: "k-bad", Time: utc(15, 0), Account: Acme, Kind: storage.KindClick,
		Status: storage.StatusRejected, Reason: "unknown_campaign", CampaignID: "c9", Cost: 99, Currency: "USD"}
	other := click("k-other", utc(14, 0), macros("zone_id", "z1", "US"), 10_000, func(h *storage.Hit) { h.Account = Other })

	return []storage.Hit{
		k0, k1, k2, k3, k4, k5,
		pb("p0", utc(13, 0), k0, storage.StatusAccepted, "approved", 700_000, 700_000, "USD", "t0"),
		pb("p1", utc(14, 30), k1, storage.StatusAccepted, "approved", 2_000_000, 2_000_000, "USD", "t1"),
		postback("p2", utc(14, 40), k1, storage.StatusDuplicate, storage.ReasonSameConversion, "approved", 0, 2_000_000, "USD", "t1"),
		pb("p3", utc(14, 50), k2, storage.StatusAccepted, "pending", 0, 3_000_000, "USD", "t2"),
		pb("p4", utc(15, 10), k2, storage.StatusUpdated, "approved", 3_000_000, 3_000_000, "USD", "t2"), // Tokyo 11th
		pb("p5", utc(16, 0), k3, storage.StatusAccepted, "approved", 1_500_000, 1_500_000, "USD", "t3"),
		pb("p6", utc(17, 0), k3, storage.StatusUpdated, "chargeback", -1_500_000, 1_500_000, "USD", "t3"),
		p7, p8, p9,
		pb("p1b", utc(9, 0, 11), k1, storage.StatusAccepted, "approved", 500_000, 500_000, "USD", "t1b"), // UTC 11th
		unknown, badClick, other,
		pb("late", To, k1, storage.StatusAccepted, "approved", 9_000_000, 9_000_000, "USD", "t-late"),
	}
}

// Replayed returns the degraded copies a crash replay writes of hits
// (duplicate, replayed_hit): a store keeps the originals.
func Replayed(hits []storage.Hit) []storage.Hit {
	out := make([]storage.Hit, len(hits))
	for i, h := range hits {
		h.Status, h.Reason, h.Delta, h.Credited = storage.StatusDuplicate, storage.ReasonReplayedHit, 0, nil
		out[i] = h
	}
	return out
}
