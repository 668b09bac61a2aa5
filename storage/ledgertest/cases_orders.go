package ledgertest

import (
	"time"

	"github.com/pixelpost/pixelpost/storage"
)

func orderCases() []testCase {
	return []testCase{
		{"first_sighting_credits_every_webinar", func(f *fixture) {
			a := "ann@example.com"
			f.expect(f.conv("o1").webinars("w2", "w1").amount("49.99").email(a).product("p1", "Course").at(time.Minute),
				accepted(m("49.99"), eid(a), "w2", "w1"))
			for _, w := range []string{"w1", "w2"} {
				f.wantStats(w, storage.WebinarStats{Converted: 1, Sales: 1, Revenue: money("USD", "49.99")})
			}
			f.wantAttendee(a, storage.Attendee{
				Orders: 1, LTV: money("USD", "49.99"),
				Webinars: []string{"w1", "w2"}, Acquisition: []string{"w2", "w1"},
				OrderList: []storage.Order{{
					Key: "o1", OrderID: "o1", Amount: m("49.99"), Currency: "USD",
					Webinars: []string{"w2", "w1"}, AttendeeID: eid(a),
					ProductID: "p1", ProductName: "Course", Source: "pixel",
					FirstSeen: at(time.Minute), LastSeen: at(time.Minute),
				}},
			})
			f.wantWebinars(storage.Webinar{ID: "w1"}, storage.Webinar{ID: "w2"})
		}},
		{"refresh_with_same_order_counts_once", func(f *fixture) {
			a := "bob@example.com"
			first := f.conv("o1").webinars("w1").amount("20").email(a)
			f.expect(first, accepted(m("20"), eid(a), "w1"))
			// The thank-you page refreshed: a new hit, the same order.
			f.expect(first.hit(randomID("hit-")).at(5*time.Minute), sameOrder(eid(a), "w1"))
			f.expect(first.hit(randomID("hit-")).at(7*time.Minute), sameOrder(eid(a), "w1"))
			f.wantStats("w1", storage.WebinarStats{Converted: 1, Sales: 1, Revenue: money("USD", "20")})
			f.wantAttendee(a, storage.Attendee{
				Orders: 1, LTV: money("USD", "20"), Webinars: []string{"w1"}, Acquisition: []string{"w1"},
				OrderList: []storage.Order{{
					Key: "o1", OrderID: "o1", Amount: m("20"), Currency: "USD", Webinars: []string{"w1"},
					AttendeeID: eid(a), Source: "pixel", FirstSeen: base, LastSeen: at(7 * time.Minute),
				}},
			})
		}},
		{"latest_amount_replaces", func(f *fixture) {
			a := "cy@example.com"
			o := f.conv("o1").webinars("w1", "w2").email(a)
			f.expect(o.amount("10"), accepted(m("10"), eid(a), "w1", "w2"))
			f.expect(o.hit(randomID("hit-")).amount("25").at(time.Minute), updated(m("15"), eid(a), "w1", "w2"))
			f.expect(o.hit(randomID("hit-")).amount("5").at(2*time.Minute), updated(m("-20"), eid(a), "w1", "w2"))
			for _, w := range []string{"w1", "w2"} {
				f.wantStats(w, storage.WebinarStats{Converted: 1, Sales: 1, Revenue: money("USD", "5")})
			}
			f.wantAttendee(a, storage.Attendee{
				Orders: 1, LTV: money("USD", "5"), Webinars: []string{"w1", "w2"}, Acquisition: []string{"w1", "w2"},
				OrderList: []storage.Order{{
					Key: "o1", OrderID: "o1", Amount: m("5"), Currency: "USD", Webinars: []string{"w1", "w2"},
					AttendeeID: eid(a), Source: "pixel", FirstSeen: base, LastSeen: at(2 * time.Minute),
				}},
			})
		}},
		{"absent_amount_keeps_amount", func(f *fixture) {
			a := "di@example.com"
			o := f.conv("o1").webinars("w1").email(a)
			f.expect(o.amount("12.50"), accepted(m("12.50"), eid(a), "w1"))
			f.expect(o.hit(randomID("hit-")).at(time.Minute), sameOrder(eid(a), "w1"))
			f.wantStats("w1", storage.WebinarStats{Converted: 1, Sales: 1, Revenue: money("USD", "12.50")})
			f.wantAttendee(a, storage.Attendee{
				Orders: 1, LTV: money("USD", "12.50"), Webinars: []string{"w1"}, Acquisition: []string{"w1"},
				OrderList: []storage.Order{{
					Key: "o1", OrderID: "o1", Amount: m("12.50"), Currency: "USD", Webinars: []string{"w1"},
					AttendeeID: eid(a), Source: "pixel", FirstSeen: base, LastSeen: at(time.Minute),
				}},
			})
		}},
		{"first_sighting_without_amount_then_amount", func(f *fixture) {
			a := "ed@example.com"
			o := f.conv("o1").webinars("w1").email(a)
			f.expect(o, accepted(0, eid(a), "w1"))
			// A sale of 0: revenue and LTV omit the zero total.
			f.wantStats("w1", storage.WebinarStats{Converted: 1, Sales: 1})
			f.wantAttendee(a, storage.Attendee{
				Orders: 1, Webinars: []string{"w1"}, Acquisition: []string{"w1"},
				OrderList: []storage.Order{{
					Key: "o1", OrderID: "o1", Currency: "USD", Webinars: []string{"w1"},
					AttendeeID: eid(a), Source: "pixel", FirstSeen: base, LastSeen: base,
				}},
			})
			f.expect(o.hit(randomID("hit-")).amount("30").source("backend").at(time.Hour), updated(m("30"), eid(a), "w1"))
			f.wantStats("w1", storage.WebinarStats{Converted: 1, Sales: 1, Revenue: money("USD", "30")})
			f.wantAttendee(a, storage.Attendee{
				Orders: 1, LTV: money("USD", "30"), Webinars: []string{"w1"}, Acquisition: []string{"w1"},
				OrderList: []storage.Order{{
					Key: "o1", OrderID: "o1", Amount: m("30"), Currency: "USD", Webinars: []string{"w1"},
					AttendeeID: eid(a), Source: "pixel", FirstSeen: base, LastSeen: at(time.Hour),
				}},
			})
		}},
		{"webinars_added_later", func(f *fixture) {
			a := "fay@example.com"
			o := f.conv("o1").email(a)
			f.expect(o.webinars("w1").amount("10"), accepted(m("10"), eid(a), "w1"))
			// w2 gets a sale at the current amount, w1 the difference.
			f.expect(o.hit(randomID("hit-")).webinars("w2", "w1").amount("12").at(time.Minute), updated(m("2"), eid(a), "w1", "w2"))
			// A later sighting naming no webinar keeps them all.
			f.expect(o.hit(randomID("hit-")).at(2*time.Minute), sameOrder(eid(a), "w1", "w2"))
			// Adding a webinar without changing the amount is an update too.
			f.expect(o.hit(randomID("hit-")).webinars("w3").at(3*time.Minute), updated(0, eid(a), "w1", "w2", "w3"))
			f.wantStats("w1", storage.WebinarStats{Converted: 1, Sales: 1, Revenue: money("USD", "12")})
			f.wantStats("w2", storage.WebinarStats{Converted: 1, Sales: 1, Revenue: money("USD", "12")})
			f.wantStats("w3", storage.WebinarStats{Converted: 1, Sales: 1, Revenue: money("USD", "12")})
			f.wantAttendee(a, storage.Attendee{
				Orders: 1, LTV: money("USD", "12"), Webinars: []string{"w1", "w2", "w3"}, Acquisition: []string{"w1"},
				OrderList: []storage.Order{{
					Key: "o1", OrderID: "o1", Amount: m("12"), Currency: "USD", Webinars: []string{"w1", "w2", "w3"},
					AttendeeID: eid(a), Source: "pixel", FirstSeen: base, LastSeen: at(3 * time.Minute),
				}},
			})
			f.wantWebinars(storage.Webinar{ID: "w1"}, storage.Webinar{ID: "w2"}, storage.Webinar{ID: "w3"})
		}},
		{"currency_mismatch_rejected_and_changes_nothing", func(f *fixture) {
			a, b := "gus@example.com", "hal@example.com"
			o := f.conv("o1").webinars("w1").email(a)
			f.expect(o.amount("10"), accepted(m("10"), eid(a), "w1"))
			// Another currency, another webinar, another attendee and a
			// cookie: nothing of it is kept.
			f.expect(o.hit(randomID("hit-")).currency("EUR").amount("20").webinars("w9").email(b).cookie("ck-h").at(time.Minute),
				rejected(storage.ReasonCurrencyMismatch, eid(b)))
			f.expect(o.hit(randomID("hit-")).currency("EUR").at(2*time.Minute),
				rejected(storage.ReasonCurrencyMismatch, eid(a)))
			f.wantStats("w1", storage.WebinarStats{Converted: 1, Sales: 1, Revenue: money("USD", "10")})
			f.unlisted("w9")
			f.noAttendee(b)
			f.wantAttendee(a, storage.Attendee{
				Orders: 1, LTV: money("USD", "10"), Webinars: []string{"w1"}, Acquisition: []string{"w1"},
				OrderList: []storage.Order{{
					Key: "o1", OrderID: "o1", Amount: m("10"), Currency: "USD", Webinars: []string{"w1"},
					AttendeeID: eid(a), Source: "pixel", FirstSeen: base, LastSeen: base,
				}},
			})
			// The cookie was not linked to b: alone it is its own attendee.
			f.expect(f.conv("o2").webinars("w1").cookie("ck-h").at(3*time.Minute), accepted(0, cid("ck-h"), "w1"))
		}},
		{"currency_mismatch_keeps_window_open_time", func(f *fixture) {
			// A fingerprinted order: a rejected sighting must not slide the
			// window, so the next sighting after the window is a new order.
			o := f.conv("fp1").webinars("w1").window(30 * time.Minute)
			f.expect(o.amount("10"), accepted(m("10"), "", "w1"))
			f.expect(o.hit(randomID("hit-")).amount("10").currency("EUR").at(20*time.Minute),
				rejected(storage.ReasonCurrencyMismatch, ""))
			f.expect(o.hit(randomID("hit-")).amount("10").at(40*time.Minute), accepted(m("10"), "", "w1"))
			f.wantStats("w1", storage.WebinarStats{Sales: 2, Revenue: money("USD", "20")})
		}},
		{"currencies_never_summed", func(f *fixture) {
			a := "ida@example.com"
			f.expect(f.conv("o1").webinars("w1").amount("10").email(a), accepted(m("10"), eid(a), "w1"))
			f.expect(f.conv("o2").webinars("w1").amount("20").currency("EUR").email(a).at(time.Minute), accepted(m("20"), eid(a), "w1"))
			// A third currency whose total goes back to 0 is omitted.
			gbp := f.conv("o3").webinars("w1").currency("GBP").email(a).at(2 * time.Minute)
			f.expect(gbp.amount("7"), accepted(m("7"), eid(a), "w1"))
			f.expect(gbp.hit(randomID("hit-")).amount("0").at(3*time.Minute), updated(m("-7"), eid(a), "w1"))
			f.wantStats("w1", storage.WebinarStats{Converted: 1, Sales: 3, Revenue: money("USD", "10", "EUR", "20")})
			f.wantAttendee(a, storage.Attendee{
				Orders: 3, LTV: money("USD", "10", "EUR", "20"), Webinars: []string{"w1"}, Acquisition: []string{"w1"},
				OrderList: []storage.Order{
					{Key: "o1", OrderID: "o1", Amount: m("10"), Currency: "USD", Webinars: []string{"w1"},
						AttendeeID: eid(a), Source: "pixel", FirstSeen: base, LastSeen: base},
					{Key: "o2", OrderID: "o2", Amount: m("20"), Currency: "EUR", Webinars: []string{"w1"},
						AttendeeID: eid(a), Source: "pixel", FirstSeen: at(time.Minute), LastSeen: at(time.Minute)},
					{Key: "o3", OrderID: "o3", Currency: "GBP", Webinars: []string{"w1"},
						AttendeeID: eid(a), Source: "pixel", FirstSeen: at(2 * time.Minute), LastSeen: at(3 * time.Minute)},
				},
			})
		}},
		{"recurring_charge_credited_to_acquisition_webinars", func(f *fixture) {
			a := "jo@example.com"
			f.expect(f.conv("o1").webinars("w1", "w2").amount("49").email(a), accepted(m("49"), eid(a), "w1", "w2"))
			// Monthly charges from a backend: no webinar, a new order id each.
			f.expect(f.conv("o2").amount("19").email(a).source("backend").at(day), accepted(m("19"), eid(a), "w1", "w2"))
			// Another webinar's sale does not change the acquisition webinars.
			f.expect(f.conv("o3").webinars("w3").amount("5").email(a).at(2*day), accepted(m("5"), eid(a), "w3"))
			f.expect(f.conv("o4").amount("19").email(a).source("backend").at(3*day), accepted(m("19"), eid(a), "w1", "w2"))
			f.wantStats("w1", storage.WebinarStats{Converted: 1, Sales: 3, Revenue: money("USD", "87")})
			f.wantStats("w2", storage.WebinarStats{Converted: 1, Sales: 3, Revenue: money("USD", "87")})
			f.wantStats("w3", storage.WebinarStats{Converted: 1, Sales: 1, Revenue: money("USD", "5")})
			order := func(key, amount string, d time.Duration, source string, webinars ...string) storage.Order {
				return storage.Order{Key: key, OrderID: key, Amount: m(amount), Currency: "USD", Webinars: webinars,
					AttendeeID: eid(a), Source: source, FirstSeen: at(d), LastSeen: at(d)}
			}
			f.wantAttendee(a, storage.Attendee{
				Orders: 4, LTV: money("USD", "92"), Webinars: []string{"w1", "w2", "w3"}, Acquisition: []string{"w1", "w2"},
				OrderList: []storage.Order{
					order("o1", "49", 0, "pixel", "w1", "w2"),
					order("o2", "19", day, "backend", "w1", "w2"),
					order("o3", "5", 2*day, "pixel", "w3"),
					order("o4", "19", 3*day, "backend", "w1", "w2"),
				},
			})
		}},
		{"webinarless_hit_without_attendee_rejected", func(f *fixture) {
			f.expect(f.conv("o1").amount("10"), rejected(storage.ReasonNoWebinar, ""))
			f.expect(f.conv("o2").amount("10").tags("no-such-tag"), rejected(storage.ReasonNoWebinar, ""))
			f.wantWebinars()
			// The order was not stored: with a webinar it is a first sighting.
			f.expect(f.conv("o1").webinars("w1").amount("10").at(time.Minute), accepted(m("10"), "", "w1"))
		}},
		{"webinarless_first_order_of_new_attendee_counts_to_ltv_only", func(f *fixture) {
			a := "kim@example.com"
			f.expect(f.conv("o1").amount("15").email(a), accepted(m("15"), eid(a)))
			f.wantWebinars()
			f.wantAttendee(a, storage.Attendee{
				Orders: 1, LTV: money("USD", "15"),
				OrderList: []storage.Order{{Key: "o1", OrderID: "o1", Amount: m("15"), Currency: "USD",
					AttendeeID: eid(a), Source: "pixel", FirstSeen: base, LastSeen: base}},
			})
			// A later sighting naming a webinar credits it and makes it the
			// attendee's acquisition webinar.
			// (the hit names no attendee; the order keeps its own)
			f.expect(f.conv("o1").webinars("w1").at(time.Minute), updated(0, "", "w1"))
			f.expect(f.conv("o2").amount("5").email(a).at(2*time.Minute), accepted(m("5"), eid(a), "w1"))
			f.wantStats("w1", storage.WebinarStats{Converted: 1, Sales: 2, Revenue: money("USD", "20")})
			f.wantAttendee(a, storage.Attendee{
				Orders: 2, LTV: money("USD", "20"), Webinars: []string{"w1"}, Acquisition: []string{"w1"},
				OrderList: []storage.Order{
					{Key: "o1", OrderID: "o1", Amount: m("15"), Currency: "USD", Webinars: []string{"w1"},
						AttendeeID: eid(a), Source: "pixel", FirstSeen: base, LastSeen: at(time.Minute)},
					{Key: "o2", OrderID: "o2", Amount: m("5"), Currency: "USD", Webinars: []string{"w1"},
						AttendeeID: eid(a), Source: "pixel", FirstSeen: at(2 * time.Minute), LastSeen: at(2 * time.Minute)},
				},
			})
		}},
		{"labels_kept_from_first_sighting", func(f *fixture) {
			a := "lu@example.com"
			o := f.conv("key-1").orderID("ORD-1").webinars("w1").email(a).product("p1", "Course")
			f.expect(o.amount("10"), accepted(m("10"), eid(a), "w1"))
			f.expect(o.hit(randomID("hit-")).orderID("").product("p2", "Other").source("manual").amount("11").at(time.Minute),
				updated(m("1"), eid(a), "w1"))
			f.wantAttendee(a, storage.Attendee{
				Orders: 1, LTV: money("USD", "11"), Webinars: []string{"w1"}, Acquisition: []string{"w1"},
				OrderList: []storage.Order{{Key: "key-1", OrderID: "ORD-1", Amount: m("11"), Currency: "USD",
					Webinars: []string{"w1"}, AttendeeID: eid(a), ProductID: "p1", ProductName: "Course",
					Source: "pixel", FirstSeen: base, LastSeen: at(time.Minute)}},
			})
		}},
		{"fingerprint_window_slides", func(f *fixture) {
			o := f.conv("fp1").orderID("").webinars("w1").window(30 * time.Minute).amount("10")
			f.expect(o, accepted(m("10"), "", "w1"))
			// Within the window of the last sighting: the same order.
			f.expect(o.hit(randomID("hit-")).at(20*time.Minute), sameOrder("", "w1"))
			f.expect(o.hit(randomID("hit-")).at(45*time.Minute), sameOrder("", "w1"))
			// Exactly the window after the last sighting is still inside it.
			f.expect(o.hit(randomID("hit-")).at(75*time.Minute), sameOrder("", "w1"))
			f.wantStats("w1", storage.WebinarStats{Sales: 1, Revenue: money("USD", "10")})
			// More than the window after the last sighting: a new order.
			f.expect(o.hit(randomID("hit-")).at(106*time.Minute), accepted(m("10"), "", "w1"))
			f.wantStats("w1", storage.WebinarStats{Sales: 2, Revenue: money("USD", "20")})
			// The new order's window starts at its own first sighting.
			f.expect(o.hit(randomID("hit-")).amount("12").at(130*time.Minute), updated(m("2"), "", "w1"))
			f.wantStats("w1", storage.WebinarStats{Sales: 2, Revenue: money("USD", "22")})
		}},
		{"window_order_replaced_keeps_old_entry_for_attendee", func(f *fixture) {
			a := "mo@example.com"
			o := f.conv("fp1").orderID("").webinars("w1").window(30 * time.Minute).email(a)
			f.expect(o.amount("5"), accepted(m("5"), eid(a), "w1"))
			f.expect(o.hit(randomID("hit-")).amount("7").at(2*time.Hour), accepted(m("7"), eid(a), "w1"))
			f.wantStats("w1", storage.WebinarStats{Converted: 1, Sales: 2, Revenue: money("USD", "12")})
			f.wantAttendee(a, storage.Attendee{
				Orders: 2, LTV: money("USD", "12"), Webinars: []string{"w1"}, Acquisition: []string{"w1"},
				OrderList: []storage.Order{
					{Key: "fp1", Amount: m("5"), Currency: "USD", Webinars: []string{"w1"},
						AttendeeID: eid(a), Source: "pixel", FirstSeen: base, LastSeen: base},
					{Key: "fp1", Amount: m("7"), Currency: "USD", Webinars: []string{"w1"},
						AttendeeID: eid(a), Source: "pixel", FirstSeen: at(2 * time.Hour), LastSeen: at(2 * time.Hour)},
				},
			})
		}},
	}
}
