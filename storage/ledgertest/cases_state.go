package ledgertest

import (
	"reflect"
	"time"

	"github.com/pixelpost/pixelpost/storage"
)

// wantState compares the account's whole state (storage.StateDumper) with
// want, normalised.
func (f *fixture) wantState(want storage.AccountState) {
	f.Helper()
	want.Normalize()
	if got := f.state(); !reflect.DeepEqual(got, want) {
		f.Errorf("DumpAccount differs from the expected state (-want +got):\n%s", diffLines(flat(want), flat(got)))
	}
}

func stateCases() []testCase {
	return []testCase{
		{"state_dump_holds_every_part_of_an_account", func(f *fixture) {
			a, b, c := "ann@example.com", "bob@example.com", "cy@example.com"
			f.putWebinar("w1", "One", "t")
			camp := f.campaign(`{"offer_url":"https://offer/"}`)
			if err := f.l.PutConfig(f.ctx, f.acct, storage.ConfigSource, "exo", []byte(`{"postback_url":"http://s/{external_id}"}`)); err != nil {
				f.Fatalf("PutConfig: %v", err)
			}
			f.apply(
				f.reg("w1").email(a).cookie("ck-a"),
				f.reg("w1").email(c).cookie("ck-c"),
				f.conv("o1").tags("t").email(a).amount("10").product("p1", "Course"),
				// A fingerprint order replaced after its window: the first
				// stays in b's order list.
				f.conv("fp").orderID("").webinars("w2").email(b).amount("5").window(time.Hour).at(time.Minute),
				f.conv("fp").orderID("").webinars("w2").email(b).amount("7").window(time.Hour).at(3*time.Hour),
				f.lead(a, map[string]string{"name": "Ann"}),
				f.click("k1", camp, nil),
				f.click("k2", camp, nil).at(time.Minute),
				f.postback("k1").fromPixel().email(a).txid("px").payout("10"),
				f.postback("k2").status("pending").payout("3"),
			)
			f.erase(c, day)
			order := func(key, orderID, attendee string, amount string, first, last time.Duration, webinars ...string) storage.Order {
				return storage.Order{Key: key, OrderID: orderID, Amount: m(amount), Currency: "USD", Webinars: webinars,
					AttendeeID: attendee, Source: "pixel", FirstSeen: at(first), LastSeen: at(last)}
			}
			o1 := order("o1", "o1", eid(a), "10", 0, 0, "w1")
			o1.ProductID, o1.ProductName = "p1", "Course"
			fpOld, fpNew := order("fp", "", eid(b), "5", time.Minute, time.Minute, "w2"), order("fp", "", eid(b), "7", 3*time.Hour, 3*time.Hour, "w2")
			click := func(id string, d time.Duration) storage.ClickRec {
				return storage.ClickRec{CampaignID: camp, Macros: map[string]string{"external_id": "ext-" + id, "zone_id": "42"},
					Currency: "USD", Time: at(d).UnixNano(), Expires: at(d + 30*day).UnixNano(),
					Access: &storage.ClickAccess{PixelConversions: true}}
			}
			acct, err := f.l.Account(f.ctx, f.acct)
			if err != nil {
				f.Fatalf("Account: %v", err)
			}
			f.wantState(storage.AccountState{
				Account: acct,
				Webinars: map[string]storage.WebinarState{
					"w1": {Name: "One", Tags: []string{"t"},
						Stats:       storage.WebinarStats{Registrants: 1, Converted: 1, ConvertedRegistrants: 1, Sales: 1, Revenue: money("USD", "10")},
						Registrants: []storage.Registrant{{AttendeeID: eid(a), Email: a, RegisteredAt: base}},
						Converted:   []string{eid(a)}},
					"w2": {Stats: storage.WebinarStats{Converted: 1, Sales: 2, Revenue: money("USD", "12")}, Converted: []string{eid(b)}},
				},
				Tags:     map[string][]string{storage.HashID("t"): {"w1"}},
				Orders:   map[string]storage.Order{"o1": o1, "fp": fpNew},
				Replaced: []storage.Order{fpOld},
				Attendees: map[string]storage.AttendeeState{
					eid(a): {Attendee: storage.Attendee{ID: eid(a), Email: a, Orders: 1, LTV: money("USD", "10"),
						Webinars: []string{"w1"}, Acquisition: []string{"w1"}, OrderList: []storage.Order{o1}},
						Profile: map[string]string{"name": "Ann"}},
					eid(b): {Attendee: storage.Attendee{ID: eid(b), Email: b, Orders: 2, LTV: money("USD", "12"),
						Webinars: []string{"w2"}, Acquisition: []string{"w2"}, OrderList: []storage.Order{fpOld, fpNew}}},
				},
				Cookies: map[string]string{"ck-a": eid(a)},
				Clicks:  map[string]storage.ClickRec{storage.HashID("k1"): click("k1", 0), storage.HashID("k2"): click("k2", time.Minute)},
				Conversions: map[string]storage.ConvRec{
					storage.HashID(storage.ConvKey("k1", "px", "")): {Status: "approved", RawStatus: "1", Value: int64(m("10")), Currency: "USD"},
					storage.HashID(storage.ConvKey("k2", "", "")):   {Status: "pending", RawStatus: "1", Value: int64(m("3")), Currency: "USD"},
				},
				ClickTies: map[string][]string{storage.HashID(eid(a)): {storage.HashID("k1")}},
				Erased:    map[string]time.Time{eid(c): at(day)},
				Configs: map[string]map[string]string{
					storage.ConfigCampaign: {camp: `{"offer_url":"https://offer/"}`},
					storage.ConfigSource:   {"exo": `{"postback_url":"http://s/{external_id}"}`},
				},
				Claims: map[string][]string{storage.ConfigCampaign: {camp}},
			})
		}},
		{"click_applied_again_rewrites_its_record", func(f *fixture) {
			f.do(f.click("k1", "camp", nil))
			// The same click id again (a replay under another hit id, or a
			// click id reused): its record is the latest, its conversions stay.
			f.wantConv(f.postback("k1").payout("4"), storage.StatusAccepted, "", m("4"), "", m("4"))
			again := f.click("k1", "camp", nil).at(time.Hour)
			again.Macros = map[string]string{"external_id": "ext-k1", "zone_id": "77"}
			f.expect(again, storage.Result{Status: storage.StatusAccepted})
			r := f.wantConv(f.postback("k1").payout("4").at(2*time.Hour), storage.StatusDuplicate, storage.ReasonSameConversion, 0, "approved", m("4"))
			if r.Conversion != nil && r.Conversion.Macros["zone_id"] != "77" {
				f.Errorf("conversion after the click was applied again: macros %v, want the latest click's", r.Conversion.Macros)
			}
			got := f.state().Clicks[storage.HashID("k1")]
			if got.Time != at(time.Hour).UnixNano() || got.Macros["zone_id"] != "77" {
				f.Errorf("click after it was applied again: %+v", got)
			}
		}},
		{"a_campaign_document_change_reaches_clicks_of_earlier_builds", func(f *fixture) {
			camp := f.campaign(`{"network_id":""}`)
			f.do(f.click("old", camp, nil).access(nil))
			f.wantConv(f.postback("old").txid("t1").payout("1"), storage.StatusAccepted, "", m("1"), "", m("1"))
			// The campaign now names a network: its clicks without a recorded
			// access follow the current document.
			if err := f.l.PutConfig(f.ctx, f.acct, storage.ConfigCampaign, camp, []byte(`{"network_id":"netA"}`)); err != nil {
				f.Fatalf("PutConfig: %v", err)
			}
			f.wantConv(f.postback("old").txid("t2").payout("1"), storage.StatusRejected, storage.ReasonWrongNetwork, 0, "", 0)
			f.wantConv(f.postback("old").txid("t2").payout("1").via("netA"), storage.StatusAccepted, "", m("1"), "", m("1"))
			if err := f.l.DeleteConfig(f.ctx, f.acct, storage.ConfigCampaign, camp); err != nil {
				f.Fatalf("DeleteConfig: %v", err)
			}
			f.wantConv(f.postback("old").txid("t3").payout("1").via("netA"), storage.StatusRejected, storage.ReasonWrongNetwork, 0, "", 0)
		}},
	}
}
