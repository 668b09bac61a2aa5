package ledgertest

import (
	"fmt"
	"reflect"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

// click is a click on campaign camp with a 30-day window at base time; the
// campaign names no network (postbacks through the account-level path and
// the conversion pixel convert it).
func (f *fixture) click(id, camp string, v *storage.Valuation) op {
	return op{storage.Op{
		HitID: randomID("hit-"), Account: f.acct, Kind: storage.OpClick, Time: base,
		ClickID: id, CampaignID: camp, ClickTTL: 30 * 24 * time.Hour, Currency: "USD",
		Macros: map[string]string{"external_id": "ext-" + id, "zone_id": "42"}, Valuation: v,
		Access: &storage.ClickAccess{PixelConversions: true},
	}}
}

// access sets who may convert a click; nil is a click of an earlier build.
func (o op) access(a *storage.ClickAccess) op { o.Access = a; return o }

// via sends a postback through a network's path ("": the account-level one).
func (o op) via(network string) op { o.NetworkID = network; return o }

// fromPixel makes a postback the conversion pixel's.
func (o op) fromPixel() op { o.Source = storage.SourcePixel; return o }

// campaign stores a campaign document under a fresh id and returns the id.
func (f *fixture) campaign(doc string) string {
	f.Helper()
	id := randomID("camp-")
	if err := f.l.PutConfig(f.ctx, f.acct, storage.ConfigCampaign, id, []byte(doc)); err != nil {
		f.Fatalf("PutConfig(campaign %s): %v", doc, err)
	}
	return id
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
		switch reason {
		case storage.ReasonUnknownClick, storage.ReasonExpiredClick, storage.ReasonWrongNetwork, storage.ReasonPixelConversionsDisabled:
		default:
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
		{"postback_converts_a_click_only_through_its_networks_path", func(f *fixture) {
			f.do(f.click("n1", "camp", nil).access(&storage.ClickAccess{NetworkID: "netA"}))
			pb := f.postback("n1").txid("t1").payout("50")
			// The account-level path, another network's path (its secret
			// passed) and the pixel change nothing...
			f.wantConv(pb, storage.StatusRejected, storage.ReasonWrongNetwork, 0, "", 0)
			f.wantConv(pb.hit(randomID("hit-")).via("netB"), storage.StatusRejected, storage.ReasonWrongNetwork, 0, "", 0)
			f.wantConv(pb.hit(randomID("hit-")).fromPixel(), storage.StatusRejected, storage.ReasonPixelConversionsDisabled, 0, "", 0)
			// ... so the network's own postback is the conversion's first sighting.
			f.wantConv(pb.hit(randomID("hit-")).via("netA").payout("2"), storage.StatusAccepted, "", m("2"), "", m("2"))
			// Nor can another path charge it back afterwards.
			f.wantConv(pb.hit(randomID("hit-")).status("chargeback").payout("2"), storage.StatusRejected, storage.ReasonWrongNetwork, 0, "", 0)
			f.wantConv(pb.hit(randomID("hit-")).via("netA").payout("2"), storage.StatusDuplicate, storage.ReasonSameConversion, 0, "approved", m("2"))
		}},
		{"account_path_and_pixel_serve_clicks_without_network", func(f *fixture) {
			f.do(f.click("n2", "camp", nil))
			f.wantConv(f.postback("n2").txid("t1").payout("5").via("netA"), storage.StatusRejected, storage.ReasonWrongNetwork, 0, "", 0)
			f.wantConv(f.postback("n2").txid("t1").payout("5"), storage.StatusAccepted, "", m("5"), "", m("5"))
			f.wantConv(f.postback("n2").txid("t2").payout("7").fromPixel(), storage.StatusAccepted, "", m("7"), "", m("7"))
		}},
		{"pixel_conversions_follow_the_click_s_campaign", func(f *fixture) {
			f.do(f.click("n3", "camp", nil).access(&storage.ClickAccess{NetworkID: "netA", PixelConversions: true}))
			f.wantConv(f.postback("n3").payout("3").fromPixel(), storage.StatusAccepted, "", m("3"), "", m("3"))
			f.do(f.click("n4", "camp", nil).access(&storage.ClickAccess{}))
			f.wantConv(f.postback("n4").payout("3").fromPixel(), storage.StatusRejected, storage.ReasonPixelConversionsDisabled, 0, "", 0)
			f.wantConv(f.postback("n4").payout("3"), storage.StatusAccepted, "", m("3"), "", m("3"))
		}},
		{"clicks_of_earlier_builds_follow_their_campaign_s_current_document", func(f *fixture) {
			withNet := f.campaign(`{"network_id":"netA","offer_url":"https://offer/"}`)
			f.do(f.click("l1", withNet, nil).access(nil))
			f.wantConv(f.postback("l1").payout("1"), storage.StatusRejected, storage.ReasonWrongNetwork, 0, "", 0)
			f.wantConv(f.postback("l1").payout("1").fromPixel(), storage.StatusRejected, storage.ReasonPixelConversionsDisabled, 0, "", 0)
			f.wantConv(f.postback("l1").payout("1").via("netA"), storage.StatusAccepted, "", m("1"), "", m("1"))

			noNet := f.campaign(`{"network_id":"","offer_url":"https://offer/"}`)
			f.do(f.click("l2", noNet, nil).access(nil))
			f.wantConv(f.postback("l2").txid("t1").payout("1").via("netA"), storage.StatusRejected, storage.ReasonWrongNetwork, 0, "", 0)
			f.wantConv(f.postback("l2").txid("t1").payout("1"), storage.StatusAccepted, "", m("1"), "", m("1"))
			f.wantConv(f.postback("l2").txid("t2").payout("1").fromPixel(), storage.StatusAccepted, "", m("1"), "", m("1"))

			pixelOn := f.campaign(`{"network_id":"netA","pixel_conversions":true}`)
			f.do(f.click("l3", pixelOn, nil).access(nil))
			f.wantConv(f.postback("l3").payout("1").fromPixel(), storage.StatusAccepted, "", m("1"), "", m("1"))

			// The campaign is gone: nobody can be shown to own the click.
			f.do(f.click("l4", randomID("gone-"), nil).access(nil))
			f.wantConv(f.postback("l4").payout("1"), storage.StatusRejected, storage.ReasonWrongNetwork, 0, "", 0)
			f.wantConv(f.postback("l4").payout("1").via("netA"), storage.StatusRejected, storage.ReasonWrongNetwork, 0, "", 0)
			f.wantConv(f.postback("l4").payout("1").fromPixel(), storage.StatusRejected, storage.ReasonPixelConversionsDisabled, 0, "", 0)
		}},
	}
}
