package ledgertest

import (
	"fmt"
	"reflect"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

// click is a click on campaign camp with a 30-day window at base time.
func (f *fixture) click(id, camp string, v *storage.Valuation) op {
	return op{storage.Op{
		HitID: randomID("hit-"), Account: f.acct, Kind: storage.OpClick, Time: base,
		ClickID: id, CampaignID: camp, ClickTTL: 30 * 24 * time.Hour, Currency: "USD",
		Macros: map[string]string{"external_id": "ext-" + id, "zone_id": "42"}, Valuation: v,
	}}
}

// postback is a postback for a click, approved, in USD, a minute after base.
func (f *fixture) postback(clickID string) op {
	return op{storage.Op{
		HitID: randomID("hit-"), Account: f.acct, Kind: storage.OpPostback, Time: base.Add(time.Minute),
		ClickID: clickID, ConvStatus: "approved", RawStatus: "1", Currency: "USD",
	}}
}

func (o op) status(s string) op      { o.ConvStatus = s; return o }
func (o op) txid(t string) op        { o.TxID = t; return o }
func (o op) goal(g string) op        { o.Goal = g; return o }
func (o op) payout(s string) op      { o.HasAmount, o.Amount = true, m(s); return o }
func (o op) late(d time.Duration) op { o.Time = o.Time.Add(d); return o }

// wantConv applies a postback and checks its status, reason, delta and,
// when it found its click, the conversion it reports.
func (f *fixture) wantConv(o op, status storage.Status, reason string, delta attribution.Micros, prevStatus string, value attribution.Micros) storage.Result {
	f.Helper()
	r := f.do(o)
	if r.Status != status || r.Reason != reason || r.Delta != delta {
		f.Errorf("postback %s/%s: got %s/%s delta %d, want %s/%s delta %d", o.ConvStatus, o.TxID, r.Status, r.Reason, r.Delta, status, reason, delta)
	}
	if r.Conversion == nil {
		if reason != storage.ReasonUnknownClick && reason != storage.ReasonExpiredClick {
			f.Errorf("postback %s: no conversion in the result", o.HitID)
		}
		return r
	}
	c := r.Conversion
	if c.ClickID != o.ClickID || c.Status != o.ConvStatus || c.PrevStatus != prevStatus || c.Value != value ||
		c.Currency != o.Currency || c.CampaignID == "" || c.Macros["external_id"] != "ext-"+o.ClickID {
		f.Errorf("postback %s: conversion %+v; want status %s (was %q), value %d", o.HitID, *c, o.ConvStatus, prevStatus, value)
	}
	return r
}

func s2sCases() []testCase {
	return []testCase{
		{"postback_status_changes_adjust_revenue_by_the_difference", func(f *fixture) {
			f.expect(f.click("c1", "camp", nil), storage.Result{Status: storage.StatusAccepted})
			pb := f.postback("c1").txid("t1").payout("12.50").status("pending")
			f.wantConv(pb, storage.StatusAccepted, "", 0, "", m("12.50"))
			f.wantConv(pb.hit(randomID("hit-")), storage.StatusDuplicate, storage.ReasonSameConversion, 0, "pending", m("12.50"))
			f.wantConv(pb.hit(randomID("hit-")).status("approved"), storage.StatusUpdated, "", m("12.50"), "pending", m("12.50"))
			// A new payout on the approved conversion: the difference.
			f.wantConv(pb.hit(randomID("hit-")).status("approved").payout("15"), storage.StatusUpdated, "", m("2.50"), "approved", m("15"))
			f.wantConv(pb.hit(randomID("hit-")).status("chargeback").payout("15"), storage.StatusUpdated, "", -m("15"), "approved", m("15"))
			// Chargeback is final.
			f.wantConv(pb.hit(randomID("hit-")).status("approved").payout("15"), storage.StatusRejected, storage.ReasonBadTransition, 0, "chargeback", m("15"))
			// Another txid of the same click is another conversion.
			f.wantConv(f.postback("c1").txid("t2").payout("3"), storage.StatusAccepted, "", m("3"), "", m("3"))
			// A currency other than the conversion's is refused.
			f.wantConv(f.postback("c1").txid("t2").payout("3").currency("EUR"), storage.StatusRejected, storage.ReasonCurrencyMismatch, 0, "approved", m("3"))
		}},
		{"postback_unknown_and_expired_clicks", func(f *fixture) {
			f.wantConv(f.postback("nope"), storage.StatusRejected, storage.ReasonUnknownClick, 0, "", 0)
			f.do(f.click("c2", "camp", nil))
			f.wantConv(f.postback("c2").late(31*24*time.Hour), storage.StatusRejected, storage.ReasonExpiredClick, 0, "", 0)
			f.wantConv(f.postback("c2").late(29*24*time.Hour).payout("1"), storage.StatusAccepted, "", m("1"), "", m("1"))
		}},
		{"postback_values_follow_goals_and_fixed_payouts", func(f *fixture) {
			v := &storage.Valuation{Goals: map[string]storage.GoalDoc{
				"lead": {Type: "fixed", Value: fmt.Sprint(int64(m("2")))},
				"view": {Type: "none"},
			}}
			f.do(f.click("c3", "camp", v))
			f.wantConv(f.postback("c3").goal("lead").payout("99"), storage.StatusAccepted, "", m("2"), "", m("2"))
			f.wantConv(f.postback("c3").goal("view").payout("99"), storage.StatusAccepted, "", 0, "", 0)
			// Without goal: "default", dynamic when not configured.
			f.wantConv(f.postback("c3").payout("7.25"), storage.StatusAccepted, "", m("7.25"), "", m("7.25"))
			// An offer's fixed payout overrides the postback's.
			f.do(f.click("c4", "camp", &storage.Valuation{Payout: fmt.Sprint(int64(m("4")))}))
			f.wantConv(f.postback("c4").payout("99"), storage.StatusAccepted, "", m("4"), "", m("4"))
		}},
		{"postback_replay_returns_the_original_conversion", func(f *fixture) {
			f.do(f.click("c5", "camp", nil))
			pb := f.postback("c5").txid("t").payout("5")
			first := f.wantConv(pb, storage.StatusAccepted, "", m("5"), "", m("5"))
			again := f.do(pb)
			if again.Reason != storage.ReasonReplayedHit || again.Original == nil || !reflect.DeepEqual(again.Original.Conversion, first.Conversion) {
				f.Errorf("replay: %+v (original %+v), want the first result %+v", again, again.Original, first)
			}
		}},
	}
}
