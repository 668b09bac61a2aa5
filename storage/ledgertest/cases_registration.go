package ledgertest

import (
	"cmp"
	"slices"
	"time"

	"github.com/pixelpost/pixelpost/storage"
)

func registrationCases() []testCase {
	return []testCase{
		{"registration_new_and_duplicate", func(f *fixture) {
			a := "xia@example.com"
			f.expect(f.reg("w1").email(a), registered(eid(a), "w1"))
			f.expect(f.reg("w1").email(a).at(time.Minute), alreadyRegistered(eid(a), "w1"))
			// One new registration among several is enough to be accepted.
			f.expect(f.reg("w2", "w1").email(a).at(2*time.Minute), registered(eid(a), "w2", "w1"))
			f.wantStats("w1", storage.WebinarStats{Registrants: 1})
			f.wantStats("w2", storage.WebinarStats{Registrants: 1})
			f.wantRegistrants("w1", storage.Registrant{AttendeeID: eid(a), Email: a, RegisteredAt: base})
			f.wantRegistrants("w2", storage.Registrant{AttendeeID: eid(a), Email: a, RegisteredAt: at(2 * time.Minute)})
			// A registrant is an attendee with no orders.
			f.wantAttendee(a, storage.Attendee{})
			f.wantWebinars(storage.Webinar{ID: "w1"}, storage.Webinar{ID: "w2"})
		}},
		{"registration_rejected", func(f *fixture) {
			a := "yan@example.com"
			f.expect(f.reg().email(a), rejected(storage.ReasonNoWebinar, eid(a)))
			f.expect(f.reg().tags("no-such-tag").email(a).cookie("ck-r"), rejected(storage.ReasonNoWebinar, eid(a)))
			f.expect(f.reg("w1"), rejected(storage.ReasonNoAttendee, ""))
			// The webinar check comes first.
			f.expect(f.reg(), rejected(storage.ReasonNoWebinar, ""))
			// Rejected: nothing listed, no attendee, no cookie link.
			f.wantWebinars()
			f.noAttendee(a)
			f.expect(f.reg("w2").cookie("ck-r").at(time.Minute), registered(cid("ck-r"), "w2"))
		}},
		{"registrants_oldest_first", func(f *fixture) {
			f.do(f.reg("w1").email("c@example.com").at(2 * time.Minute))
			f.do(f.reg("w1").email("a@example.com").at(time.Minute))
			f.do(f.reg("w1").email("b@example.com").at(time.Minute))
			f.do(f.reg("w1").cookie("ck-d"))
			want := []storage.Registrant{
				{AttendeeID: eid("c@example.com"), Email: "c@example.com", RegisteredAt: at(2 * time.Minute)},
				{AttendeeID: eid("a@example.com"), Email: "a@example.com", RegisteredAt: at(time.Minute)},
				{AttendeeID: eid("b@example.com"), Email: "b@example.com", RegisteredAt: at(time.Minute)},
				{AttendeeID: cid("ck-d"), RegisteredAt: base},
			}
			// Ties by attendee id.
			slices.SortFunc(want, func(x, y storage.Registrant) int {
				return cmp.Or(x.RegisteredAt.Compare(y.RegisteredAt), cmp.Compare(x.AttendeeID, y.AttendeeID))
			})
			f.wantRegistrants("w1", want...)
			f.wantStats("w1", storage.WebinarStats{Registrants: 4})
		}},
		{"conversion_rate_pieces", func(f *fixture) {
			a, b, c, d := "ab@example.com", "bc@example.com", "cd@example.com", "de@example.com"
			// Registered, then converted.
			f.expect(f.reg("w1").email(a), registered(eid(a), "w1"))
			f.expect(f.conv("o1").webinars("w1").amount("1").email(a).at(time.Minute), accepted(m("1"), eid(a), "w1"))
			// Converted, then registered.
			f.expect(f.conv("o2").webinars("w1").amount("1").email(b).at(2*time.Minute), accepted(m("1"), eid(b), "w1"))
			f.expect(f.reg("w1").email(b).at(3*time.Minute), registered(eid(b), "w1"))
			// Converted without registering.
			f.expect(f.conv("o3").webinars("w1").amount("1").email(c).at(4*time.Minute), accepted(m("1"), eid(c), "w1"))
			// A second order of a converted attendee: a sale, not a conversion.
			f.expect(f.conv("o4").webinars("w1").amount("1").email(a).at(5*time.Minute), accepted(m("1"), eid(a), "w1"))
			// Registered without converting.
			f.expect(f.reg("w1").email(d).at(6*time.Minute), registered(eid(d), "w1"))
			// Registered for w2, converted for w1 only.
			f.expect(f.reg("w2").email(c).at(7*time.Minute), registered(eid(c), "w2"))
			f.wantStats("w1", storage.WebinarStats{Registrants: 3, Converted: 3, ConvertedRegistrants: 2, Sales: 4, Revenue: money("USD", "4")})
			f.wantStats("w2", storage.WebinarStats{Registrants: 1})
		}},
	}
}

func dedupeCases() []testCase {
	return []testCase{
		{"replayed_hit_returns_its_original_result", func(f *fixture) {
			// A process that died before recording a result applies the hit
			// again: the ledger gives the first decision back.
			a := "orig@example.com"
			o := f.conv("o1").webinars("w1").amount("10").email(a)
			f.expect(o, accepted(m("10"), eid(a), "w1"))
			up := f.conv("o1").webinars("w2").amount("12").email(a).at(time.Minute)
			f.expect(up, updated(m("2"), eid(a), "w1", "w2"))
			bad := f.conv("o1").currency("EUR").amount("1").at(2 * time.Minute)
			f.expect(bad, storage.Result{Status: storage.StatusRejected, Reason: storage.ReasonCurrencyMismatch})
			for _, tc := range []struct {
				o    op
				want storage.Result
			}{
				{o, accepted(m("10"), eid(a), "w1")},
				{up, updated(m("2"), eid(a), "w1", "w2")},
				{bad, storage.Result{Status: storage.StatusRejected, Reason: storage.ReasonCurrencyMismatch}},
			} {
				got := f.do(tc.o)
				f.checkResult("replay of "+tc.o.HitID, got, replayed())
				if got.Original == nil {
					f.Errorf("replay of %s: no original result", tc.o.HitID)
					continue
				}
				f.checkResult("original of "+tc.o.HitID, *got.Original, tc.want)
			}
			f.wantStats("w1", storage.WebinarStats{Converted: 1, Sales: 1, Revenue: money("USD", "12")})
		}},
		{"replayed_hit_changes_nothing", func(f *fixture) {
			a, b := "zed@example.com", "amy@example.com"
			o := f.conv("o1").webinars("w1").amount("10").email(a)
			f.expect(o, accepted(m("10"), eid(a), "w1"))
			f.expect(o, replayed())
			// Same hit id, other content: still a replay.
			f.expect(o.webinars("w2").amount("99").email(b).cookie("ck-z").at(time.Minute), replayed())
			f.expect(f.reg("w1").email(a).hit(o.HitID), replayed())
			f.wantStats("w1", storage.WebinarStats{Converted: 1, Sales: 1, Revenue: money("USD", "10")})
			f.unlisted("w2")
			f.noAttendee(b)
			f.wantAttendee(a, storage.Attendee{
				Orders: 1, LTV: money("USD", "10"), Webinars: []string{"w1"}, Acquisition: []string{"w1"},
				OrderList: []storage.Order{{Key: "o1", OrderID: "o1", Amount: m("10"), Currency: "USD", Webinars: []string{"w1"},
					AttendeeID: eid(a), Source: "pixel", FirstSeen: base, LastSeen: base}},
			})
			// A registration replayed is a replay, not already_registered.
			r := f.reg("w1").email(b).at(2 * time.Minute)
			f.expect(r, registered(eid(b), "w1"))
			f.expect(r, replayed())
			f.wantStats("w1", storage.WebinarStats{Registrants: 1, Converted: 1, Sales: 1, Revenue: money("USD", "10")})
		}},
		{"replayed_hit_within_one_batch", func(f *fixture) {
			o := f.conv("o1").webinars("w1").amount("10")
			res := f.apply(o, o, o.amount("20"))
			f.checkResult("first", res[0], accepted(m("10"), "", "w1"))
			f.checkResult("second", res[1], replayed())
			f.checkResult("third", res[2], replayed())
			f.wantStats("w1", storage.WebinarStats{Sales: 1, Revenue: money("USD", "10")})
		}},
		{"rejected_hit_replayed_is_duplicate", func(f *fixture) {
			// Its outcome was decided once: a replay is not re-evaluated even
			// though the tag now has a member.
			o := f.conv("o1").tags("t").amount("10")
			f.expect(o, rejected(storage.ReasonNoWebinar, ""))
			f.putWebinar("w1", "", "t")
			f.expect(o.at(time.Minute), replayed())
			f.wantStats("w1", storage.WebinarStats{})
			// The same order in a new hit is applied.
			f.expect(o.hit(randomID("hit-")).at(2*time.Minute), accepted(m("10"), "", "w1"))
			// Currency mismatch and registration rejections are remembered too.
			mm := f.conv("o1").currency("EUR").at(3 * time.Minute)
			f.expect(mm, rejected(storage.ReasonCurrencyMismatch, ""))
			f.expect(mm, replayed())
			r := f.reg("w1").at(4 * time.Minute)
			f.expect(r, rejected(storage.ReasonNoAttendee, ""))
			f.expect(r.email("bea@example.com"), replayed())
			f.wantStats("w1", storage.WebinarStats{Sales: 1, Revenue: money("USD", "10")})
		}},
	}
}
