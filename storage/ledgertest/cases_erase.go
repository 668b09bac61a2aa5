package ledgertest

import (
	"maps"
	"reflect"
	"slices"
	"time"

	"github.com/pixelpost/pixelpost/storage"
)

// erase erases an email's attendee at base plus d.
func (f *fixture) erase(email string, d time.Duration) storage.Erasure {
	f.Helper()
	er, err := f.l.EraseAttendee(f.ctx, f.acct, email, at(d))
	if err != nil {
		f.Fatalf("EraseAttendee(%s): %v", email, err)
	}
	return er
}

// attendeeIDs lists the account's attendees through Attendees, with their
// order counts.
func (f *fixture) attendeeIDs() map[string]int64 {
	f.Helper()
	got := map[string]int64{}
	err := f.l.Attendees(f.ctx, f.acct, func(a storage.Attendee) error {
		if _, dup := got[a.ID]; dup {
			f.Errorf("attendee %s listed twice", a.ID)
		}
		if a.Email == "" || a.ID != eid(a.Email) || int64(len(a.OrderList)) != a.Orders {
			f.Errorf("attendee listed as %+v", a)
		}
		got[a.ID] = a.Orders
		return nil
	})
	if err != nil {
		f.Fatalf("Attendees: %v", err)
	}
	return got
}

func eraseCases() []testCase {
	return []testCase{
		{"attendees_lists_those_with_an_email", func(f *fixture) {
			a, b := "ann@example.com", "bob@example.com"
			f.apply(f.conv("O1").webinars("w1").email(a).amount("5"), f.conv("O2").webinars("w1").email(a).amount("6"),
				f.reg("w1").email(b), f.reg("w1").cookie("only-a-cookie"))
			if got, want := f.attendeeIDs(), map[string]int64{eid(a): 2, eid(b): 0}; !maps.Equal(got, want) {
				f.Errorf("Attendees = %v, want %v", got, want)
			}
			f.erase(a, day)
			if got, want := f.attendeeIDs(), map[string]int64{eid(b): 0}; !maps.Equal(got, want) {
				f.Errorf("Attendees after an erasure = %v, want %v", got, want)
			}
			err := f.l.Attendees(f.ctx, randomID("lt-missing-"), func(storage.Attendee) error { return nil })
			f.wantNotFound("Attendees of an unknown account", err)
		}},
		{"erasure_removes_the_attendee_and_what_it_counted", func(f *fixture) {
			// Another customer, whose totals must come out as they were.
			b := "bea@example.com"
			f.apply(f.reg("w1", "w2").email(b), f.conv("OB").webinars("w1").email(b).amount("30"))
			before1, before2 := f.stats("w1"), f.stats("w2")

			a := "ann@example.com"
			f.apply(
				f.reg("w1", "w2").email(a).cookie("ck-a"),
				f.conv("OA1").webinars("w1").email(a).cookie("ck-a").amount("50"),
				f.conv("OA2").webinars("w1", "w2").email(a).currency("EUR").amount("20").at(time.Minute),
				f.conv("OA2").webinars("w2").email(a).currency("EUR").amount("25").at(2*time.Minute),
				f.conv("REC").email(a).amount("10").at(3*time.Minute), // recurring: the acquisition webinar w1
				// A fingerprint order replaced after its window: two orders.
				f.conv("FP").webinars("w2").email(a).amount("5").window(time.Hour).at(4*time.Minute),
				f.conv("FP").webinars("w2").email(a).amount("5").window(time.Hour).at(3*time.Hour),
				f.lead(a, map[string]string{"name": "Ann"}).at(5*time.Minute),
			)
			if got := f.attendee(a); got.Orders != 5 {
				f.Fatalf("before the erasure: %+v", got)
			}

			er := f.erase(a, day)
			want := storage.Erasure{AttendeeID: eid(a), Found: true, Orders: 5, Registrations: 2, Cookies: 1}
			if !reflect.DeepEqual(er, want) {
				f.Errorf("EraseAttendee = %+v, want %+v", er, want)
			}
			f.noAttendee(a)
			f.wantStats("w1", before1)
			f.wantStats("w2", before2)
			f.wantRegistrants("w1", storage.Registrant{AttendeeID: eid(b), Email: b, RegisteredAt: base})
			if p, err := f.l.Profile(f.ctx, f.acct, eid(a)); err != nil || len(p) != 0 {
				f.Errorf("Profile after the erasure = %v, %v", p, err)
			}
			// The other customer is untouched.
			if got := f.attendee(b); got.Orders != 1 || !maps.Equal(got.LTV, money("USD", "30")) {
				f.Errorf("the other attendee: %+v", got)
			}
			// The cookie no longer leads to the erased attendee.
			f.expect(f.reg("w3").cookie("ck-a").at(2*day), registered(cid("ck-a"), "w3"))
			// The same order ids, bought again after the erasure, are new orders.
			f.expect(f.conv("OA1").webinars("w1").email(a).amount("50").at(2*day), accepted(m("50"), eid(a), "w1"))
			s := f.stats("w1")
			if s.Sales != before1.Sales+1 || s.Converted != before1.Converted+1 {
				f.Errorf("w1 after a purchase following the erasure: %s", dump(s))
			}
		}},
		{"erased_attendee_ops_up_to_the_erasure_are_refused", func(f *fixture) {
			a := "ann@example.com"
			f.expect(f.conv("O1").webinars("w1").email(a).amount("10"), accepted(m("10"), eid(a), "w1"))
			f.erase(a, time.Hour)
			// Dated before the erasure (a hit that waited, a replay under
			// another id): refused, nothing counted, no attendee named.
			f.expect(f.conv("O1").webinars("w1").email(a).amount("10").at(30*time.Minute), rejected(storage.ReasonErased, ""))
			f.expect(f.conv("O2").webinars("w1").email(a).amount("7").at(time.Hour), rejected(storage.ReasonErased, ""))
			f.expect(f.reg("w1").email(a).at(30*time.Minute), rejected(storage.ReasonErased, ""))
			f.expect(f.lead(a, map[string]string{"name": "Ann"}), rejected(storage.ReasonErased, ""))
			f.expect(f.conv("O3").webinars("w1").attendee(eid(a)).amount("1"), rejected(storage.ReasonErased, ""))
			f.noAttendee(a)
			f.wantStats("w1", storage.WebinarStats{})
			// After it: a new customer record.
			f.expect(f.conv("O2").webinars("w1").email(a).amount("7").at(2*time.Hour), accepted(m("7"), eid(a), "w1"))
			f.wantStats("w1", storage.WebinarStats{Converted: 1, Sales: 1, Revenue: money("USD", "7")})
		}},
		{"erasure_strips_the_macros_of_the_clicks_the_attendee_converted", func(f *fixture) {
			a, b := "ann@example.com", "bob@example.com"
			f.apply(f.reg("w1").email(a).cookie("ck-a"))
			for _, c := range []string{"k-email", "k-cookie", "k-late", "k-bob", "k-network"} {
				f.do(f.click(c, "camp", nil))
			}
			// The conversion pixel ties a click to its person, by email or
			// by a cookie linked to the email; a network's postback names
			// nobody.
			pixel := func(click string) op { return f.postback(click).fromPixel().payout("10").txid("o-" + click) }
			if r := f.do(pixel("k-email").email(a)); r.Status != storage.StatusAccepted || r.AttendeeID != eid(a) {
				f.Errorf("pixel conversion by email: %s", fmtResult(r))
			}
			if r := f.do(pixel("k-cookie").cookie("ck-a")); r.Status != storage.StatusAccepted || r.AttendeeID != eid(a) {
				f.Errorf("pixel conversion by a linked cookie: %s", fmtResult(r))
			}
			f.do(pixel("k-bob").email(b))
			f.do(f.postback("k-network").payout("10"))

			ids := []string{"k-cookie", "k-email"}
			if er := f.erase(a, time.Hour); er.Clicks != 2 || !slices.Equal(er.ClickIDs, ids) {
				f.Errorf("EraseAttendee = %+v, want 2 clicks stripped, ids %v", er, ids)
			}
			// A conversion pixel of hers dated before the erasure, applied
			// after it (it waited in the log), is refused like her orders.
			f.expect(pixel("k-late").email(a).at(30*time.Minute), rejected(storage.ReasonErased, ""))

			// What a later postback learns of each click: the erased
			// person's have campaign and value but no macros any more.
			later := func(click string, wantMacros bool) {
				f.Helper()
				r := f.do(f.postback(click).txid("later").payout("3").at(2 * time.Hour))
				c := r.Conversion
				switch {
				case r.Status != storage.StatusAccepted || c == nil || c.CampaignID != "camp" || c.Value != m("3"):
					f.Errorf("postback on %s after the erasure: %s %+v", click, fmtResult(r), c)
				case wantMacros && c.Macros["external_id"] != "ext-"+click:
					f.Errorf("click %s lost its macros: %v", click, c.Macros)
				case !wantMacros && len(c.Macros) != 0:
					f.Errorf("click %s of the erased person keeps its macros: %v", click, c.Macros)
				}
			}
			later("k-email", false)
			later("k-cookie", false)
			later("k-late", true) // never converted: the refused pixel tied nothing
			later("k-bob", true)
			later("k-network", true)
			// Sent again (the first could not finish elsewhere), the
			// erasure still names the clicks, stripped already.
			if er := f.erase(a, 2*time.Hour); er.Clicks != 0 || !slices.Equal(er.ClickIDs, ids) {
				f.Errorf("erasing again: %+v, want no click stripped now, ids %v", er, ids)
			}
		}},
		{"erasing_an_unknown_email_or_twice", func(f *fixture) {
			a := "nobody@example.com"
			if er := f.erase(a, time.Hour); !reflect.DeepEqual(er, storage.Erasure{AttendeeID: eid(a)}) {
				f.Errorf("erasing an unknown email: %+v", er)
			}
			// The tombstone holds all the same: a hit still in the log is refused.
			f.expect(f.reg("w1").email(a).at(time.Minute), rejected(storage.ReasonErased, ""))
			b := "bob@example.com"
			f.expect(f.reg("w1").email(b), registered(eid(b), "w1"))
			f.erase(b, time.Hour)
			// A second erasure, earlier, does not shorten the first's reach.
			if er := f.erase(b, time.Minute); !reflect.DeepEqual(er, storage.Erasure{AttendeeID: eid(b)}) {
				f.Errorf("erasing twice: %+v", er)
			}
			f.expect(f.reg("w1").email(b).at(30*time.Minute), rejected(storage.ReasonErased, ""))
			f.wantStats("w1", storage.WebinarStats{})
			_, err := f.l.EraseAttendee(f.ctx, randomID("lt-missing-"), a, base)
			f.wantNotFound("EraseAttendee on an unknown account", err)
			tombs, err := f.l.Erased(f.ctx, f.acct)
			if err != nil || len(tombs) != 2 || !tombs[eid(a)].Equal(at(time.Hour)) || !tombs[eid(b)].Equal(at(time.Hour)) {
				f.Errorf("Erased = %v, %v; want %s and %s at %v", tombs, err, eid(a), eid(b), at(time.Hour))
			}
		}},
	}
}
