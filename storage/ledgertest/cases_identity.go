package ledgertest

import (
	"time"

	"github.com/pixelpost/pixelpost/storage"
)

func identityCases() []testCase {
	return []testCase{
		{"attendee_id_without_email_is_the_email_attendee", func(f *fixture) {
			// A replayed raw hit names the attendee by id: the same attendee
			// as the email's, its email kept.
			a := "uma@example.com"
			f.expect(f.conv("o1").webinars("w1").amount("10").email(a), accepted(m("10"), eid(a), "w1"))
			f.expect(f.conv("o2").amount("4").attendee(eid(a)).at(time.Minute), accepted(m("4"), eid(a), "w1"))
			f.wantStats("w1", storage.WebinarStats{Converted: 1, Sales: 2, Revenue: money("USD", "14")})
			att := f.attendee(a)
			if att.Email != a || att.Orders != 2 || att.LTV["USD"] != m("14") {
				f.Errorf("attendee = %+v, want %s with 2 orders and 14 USD", att, a)
			}
		}},
		{"cookie_links_registration_to_conversion", func(f *fixture) {
			a, b := "quin@example.com", "rae@example.com"
			f.expect(f.reg("w1").cookie("ck-1"), registered(cid("ck-1"), "w1"))
			// Email and cookie: the email's attendee, and the cookie is linked to it.
			f.expect(f.conv("o1").webinars("w1").amount("10").email(a).cookie("ck-1").at(time.Minute),
				accepted(m("10"), eid(a), "w1"))
			// Cookie only: follows the link.
			f.expect(f.conv("o2").webinars("w2").amount("5").cookie("ck-1").at(2*time.Minute),
				accepted(m("5"), eid(a), "w2"))
			f.wantAttendee(a, storage.Attendee{
				Orders: 2, LTV: money("USD", "15"), Webinars: []string{"w1", "w2"}, Acquisition: []string{"w1"},
				OrderList: []storage.Order{
					{Key: "o1", OrderID: "o1", Amount: m("10"), Currency: "USD", Webinars: []string{"w1"},
						AttendeeID: eid(a), Source: "pixel", FirstSeen: at(time.Minute), LastSeen: at(time.Minute)},
					{Key: "o2", OrderID: "o2", Amount: m("5"), Currency: "USD", Webinars: []string{"w2"},
						AttendeeID: eid(a), Source: "pixel", FirstSeen: at(2 * time.Minute), LastSeen: at(2 * time.Minute)},
				},
			})
			// Linking does not merge: the registration stays the cookie
			// attendee's, so it is not a converted registrant.
			f.wantRegistrants("w1", storage.Registrant{AttendeeID: cid("ck-1"), RegisteredAt: base})
			f.wantStats("w1", storage.WebinarStats{Registrants: 1, Converted: 1, Sales: 1, Revenue: money("USD", "10")})
			// The last link wins.
			f.expect(f.conv("o3").webinars("w3").amount("1").email(b).cookie("ck-1").at(3*time.Minute),
				accepted(m("1"), eid(b), "w3"))
			f.expect(f.conv("o4").webinars("w3").amount("1").cookie("ck-1").at(4*time.Minute),
				accepted(m("1"), eid(b), "w3"))
			f.wantStats("w3", storage.WebinarStats{Converted: 1, Sales: 2, Revenue: money("USD", "2")})
		}},
		{"registration_with_email_and_cookie_then_cookie_only_conversion", func(f *fixture) {
			c := "sam@example.com"
			f.expect(f.reg("w1").email(c).cookie("ck-2"), registered(eid(c), "w1"))
			f.expect(f.conv("o1").webinars("w1").amount("9").cookie("ck-2").at(time.Minute), accepted(m("9"), eid(c), "w1"))
			f.wantStats("w1", storage.WebinarStats{Registrants: 1, Converted: 1, ConvertedRegistrants: 1, Sales: 1, Revenue: money("USD", "9")})
			f.wantRegistrants("w1", storage.Registrant{AttendeeID: eid(c), Email: c, RegisteredAt: base})
		}},
		{"attendee_attached_to_attendeeless_order", func(f *fixture) {
			a := "tom@example.com"
			f.expect(f.reg("w1").email(a), registered(eid(a), "w1"))
			f.expect(f.conv("o1").webinars("w1").amount("10").at(time.Minute), accepted(m("10"), "", "w1"))
			f.wantStats("w1", storage.WebinarStats{Registrants: 1, Sales: 1, Revenue: money("USD", "10")})
			// The same order, now with the attendee: attached, no new sale.
			f.expect(f.conv("o1").email(a).at(2*time.Minute), updated(0, eid(a), "w1"))
			f.wantStats("w1", storage.WebinarStats{Registrants: 1, Converted: 1, ConvertedRegistrants: 1, Sales: 1, Revenue: money("USD", "10")})
			// Attached with a new amount and a new webinar at once.
			f.expect(f.conv("o2").webinars("w2").amount("5").at(3*time.Minute), accepted(m("5"), "", "w2"))
			f.expect(f.conv("o2").webinars("w3").amount("8").email(a).at(4*time.Minute), updated(m("3"), eid(a), "w2", "w3"))
			f.wantStats("w2", storage.WebinarStats{Converted: 1, Sales: 1, Revenue: money("USD", "8")})
			f.wantStats("w3", storage.WebinarStats{Converted: 1, Sales: 1, Revenue: money("USD", "8")})
			f.wantAttendee(a, storage.Attendee{
				Orders: 2, LTV: money("USD", "18"), Webinars: []string{"w1", "w2", "w3"}, Acquisition: []string{"w1"},
				OrderList: []storage.Order{
					{Key: "o1", OrderID: "o1", Amount: m("10"), Currency: "USD", Webinars: []string{"w1"},
						AttendeeID: eid(a), Source: "pixel", FirstSeen: at(time.Minute), LastSeen: at(2 * time.Minute)},
					{Key: "o2", OrderID: "o2", Amount: m("8"), Currency: "USD", Webinars: []string{"w2", "w3"},
						AttendeeID: eid(a), Source: "pixel", FirstSeen: at(3 * time.Minute), LastSeen: at(4 * time.Minute)},
				},
			})
		}},
		{"attached_order_acquires_webinars", func(f *fixture) {
			f.expect(f.conv("o1").webinars("w1", "w2").amount("4"), accepted(m("4"), "", "w1", "w2"))
			f.expect(f.conv("o1").cookie("ck-3").at(time.Minute), updated(0, cid("ck-3"), "w1", "w2"))
			// The cookie attendee now has acquisition webinars: a webinar-less
			// charge goes there.
			f.expect(f.conv("o2").amount("2").cookie("ck-3").at(2*time.Minute), accepted(m("2"), cid("ck-3"), "w1", "w2"))
			f.wantStats("w1", storage.WebinarStats{Converted: 1, Sales: 2, Revenue: money("USD", "6")})
			f.wantStats("w2", storage.WebinarStats{Converted: 1, Sales: 2, Revenue: money("USD", "6")})
		}},
		{"order_keeps_its_first_attendee", func(f *fixture) {
			a, b := "val@example.com", "wes@example.com"
			f.expect(f.conv("o1").webinars("w1").amount("10").email(a), accepted(m("10"), eid(a), "w1"))
			f.expect(f.conv("o1").amount("15").email(b).cookie("ck-4").at(time.Minute), updated(m("5"), eid(b), "w1"))
			f.wantStats("w1", storage.WebinarStats{Converted: 1, Sales: 1, Revenue: money("USD", "15")})
			f.wantAttendee(a, storage.Attendee{
				Orders: 1, LTV: money("USD", "15"), Webinars: []string{"w1"}, Acquisition: []string{"w1"},
				OrderList: []storage.Order{{Key: "o1", OrderID: "o1", Amount: m("15"), Currency: "USD", Webinars: []string{"w1"},
					AttendeeID: eid(a), Source: "pixel", FirstSeen: base, LastSeen: at(time.Minute)}},
			})
			// b was resolved by an op that was not rejected: it has a record,
			// with nothing of the order, and the cookie is linked to it.
			f.wantAttendee(b, storage.Attendee{})
			f.expect(f.conv("o2").webinars("w2").amount("1").cookie("ck-4").at(2*time.Minute), accepted(m("1"), eid(b), "w2"))
			// A same-order refresh links its cookie too.
			f.expect(f.conv("o1").email(a).cookie("ck-5").at(3*time.Minute), sameOrder(eid(a), "w1"))
			f.expect(f.conv("o3").webinars("w3").cookie("ck-5").at(4*time.Minute), accepted(0, eid(a), "w3"))
		}},
	}
}
