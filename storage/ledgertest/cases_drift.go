package ledgertest

import (
	"maps"
	"reflect"
	"time"

	"github.com/pixelpost/pixelpost/storage"
)

// driftCases pin the rules where the ledgers once disagreed (found by
// Differential): each failed on one of them.
func driftCases() []testCase {
	return []testCase{
		{"a_profile_field_sent_empty_is_kept", func(f *fixture) {
			// A card's hidden field sent empty is a value like another:
			// the lead names it, so the profile has it.
			a := "empty@example.com"
			f.expect(f.lead(a, map[string]string{"name": "Ann"}), storage.Result{Status: storage.StatusAccepted, AttendeeID: eid(a)})
			f.expect(f.lead(a, map[string]string{"hidden.source": ""}), storage.Result{Status: storage.StatusUpdated, AttendeeID: eid(a)})
			f.expect(f.lead(a, map[string]string{"hidden.source": ""}),
				storage.Result{Status: storage.StatusDuplicate, Reason: storage.ReasonSameProfile, AttendeeID: eid(a)})
			got, err := f.l.Profile(f.ctx, f.acct, eid(a))
			if want := map[string]string{"name": "Ann", "hidden.source": ""}; err != nil || !maps.Equal(got, want) {
				f.Errorf("Profile = %v, %v; want %v", got, err, want)
			}
			// And a registration's details alike.
			f.expect(f.reg("w1").email(a).profile(map[string]string{"phone": ""}), registered(eid(a), "w1"))
			if got, _ := f.l.Profile(f.ctx, f.acct, eid(a)); len(got) != 3 {
				f.Errorf("Profile after a registration with an empty phone = %v, want it kept", got)
			}
		}},
		{"a_lead_with_no_fields_is_new_once", func(f *fixture) {
			// A lead with an email only: the attendee, with no profile field.
			a := "bare@example.com"
			f.expect(f.lead(a, map[string]string{}), storage.Result{Status: storage.StatusAccepted, AttendeeID: eid(a)})
			f.expect(f.lead(a, map[string]string{}),
				storage.Result{Status: storage.StatusDuplicate, Reason: storage.ReasonSameProfile, AttendeeID: eid(a)})
			f.expect(f.lead(a, map[string]string{"name": "Bo"}), storage.Result{Status: storage.StatusUpdated, AttendeeID: eid(a)})
		}},
		{"an_order_replaced_after_its_window_keeps_none_of_the_old_labels", func(f *fixture) {
			a := "win@example.com"
			o := f.conv("fp").orderID("").webinars("w1").window(30 * time.Minute).email(a)
			f.expect(o.amount("5").product("p1", "Course").orderID("ORD-1"), accepted(m("5"), eid(a), "w1"))
			// After the window: a new order under the same key, with its
			// own labels (none), not the replaced one's.
			f.expect(o.hit(randomID("hit-")).amount("7").at(2*time.Hour), accepted(m("7"), eid(a), "w1"))
			want := storage.Order{Key: "fp", Amount: m("7"), Currency: "USD", Webinars: []string{"w1"},
				AttendeeID: eid(a), Source: "pixel", FirstSeen: at(2 * time.Hour), LastSeen: at(2 * time.Hour)}
			if got := f.state().Orders["fp"]; !reflect.DeepEqual(got, want) {
				f.Errorf("the new order:\n got  %s\n want %s", dump(got), dump(want))
			}
		}},
		{"an_empty_tag_is_no_tag", func(f *fixture) {
			f.putWebinar("w1", "One", "", "t", "")
			f.wantWebinars(storage.Webinar{ID: "w1", Name: "One", Tags: []string{"t"}})
			if got := f.state().Tags; len(got) != 1 || len(got[storage.HashID("t")]) != 1 {
				f.Errorf("tag index = %v, want t only", got)
			}
		}},
		{"a_hit_that_waited_does_not_move_last_seen_back", func(f *fixture) {
			// A fingerprinted order seen at 1h, then a hit of it dated 0h
			// that waited in the log, then a refresh at 1h20: one order,
			// last seen at 1h20. (Were last seen moved back to 0h, the
			// refresh would be outside the window: a second sale.)
			a := "late@example.com"
			o := f.conv("fp").orderID("").webinars("w1").window(30 * time.Minute).email(a).amount("9")
			f.expect(o.at(time.Hour), accepted(m("9"), eid(a), "w1"))
			f.expect(o.hit(randomID("hit-")), sameOrder(eid(a), "w1"))
			f.expect(o.hit(randomID("hit-")).at(80*time.Minute), sameOrder(eid(a), "w1"))
			f.wantStats("w1", storage.WebinarStats{Converted: 1, Sales: 1, Revenue: money("USD", "9")})
			f.wantAttendee(a, storage.Attendee{
				Orders: 1, LTV: money("USD", "9"), Webinars: []string{"w1"}, Acquisition: []string{"w1"},
				OrderList: []storage.Order{{Key: "fp", Amount: m("9"), Currency: "USD", Webinars: []string{"w1"},
					AttendeeID: eid(a), Source: "pixel", FirstSeen: at(time.Hour), LastSeen: at(80 * time.Minute)}},
			})
		}},
	}
}
