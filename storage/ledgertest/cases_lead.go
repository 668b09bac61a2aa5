package ledgertest

import (
	"maps"

	"github.com/pixelpost/pixelpost/storage"
)

// lead is a lead of an email with profile fields.
func (f *fixture) lead(email string, profile map[string]string) op {
	return op{storage.Op{
		HitID: randomID("hit-"), Account: f.acct, Kind: storage.OpLead, Time: base,
		AttendeeEmail: email, Profile: profile,
	}}
}

func leadCases() []testCase {
	return []testCase{
		{"lead_upserts_the_attendee_profile", func(f *fixture) {
			a := "lea@example.com"
			f.expect(f.lead(a, map[string]string{"name": "Léa", "screen_name": "lea", "hidden.source": "TWITTER"}),
				storage.Result{Status: storage.StatusAccepted, AttendeeID: eid(a)})
			f.expect(f.lead(a, map[string]string{"name": "Léa"}),
				storage.Result{Status: storage.StatusDuplicate, Reason: storage.ReasonSameProfile, AttendeeID: eid(a)})
			f.expect(f.lead(a, map[string]string{"name": "Léa M."}), storage.Result{Status: storage.StatusUpdated, AttendeeID: eid(a)})
			got, err := f.l.Profile(f.ctx, f.acct, eid(a))
			want := map[string]string{"name": "Léa M.", "screen_name": "lea", "hidden.source": "TWITTER"}
			if err != nil || !maps.Equal(got, want) {
				f.Errorf("Profile = %v, %v; want %v", got, err, want)
			}
			// The lead made the attendee: a later purchase is theirs.
			if at := f.attendee(a); at.Email != a {
				f.Errorf("attendee after a lead: %+v", at)
			}
		}},
	}
}

func registrationProfileCases() []testCase {
	return []testCase{
		{"registration_merges_an_imported_registrants_details", func(f *fixture) {
			a := "reg@example.com"
			details := map[string]string{"first_name": "Ann", "phone": "+33612345678"}
			f.expect(f.reg("w1").email(a).profile(details), registered(eid(a), "w1"))
			// Registered already, new details: updated; the same again: duplicate.
			f.expect(f.reg("w1").email(a).profile(map[string]string{"country": "FR"}),
				storage.Result{Status: storage.StatusUpdated, AttendeeID: eid(a), Credited: []string{"w1"}})
			f.expect(f.reg("w1").email(a).profile(map[string]string{"country": "FR"}), alreadyRegistered(eid(a), "w1"))
			got, err := f.l.Profile(f.ctx, f.acct, eid(a))
			want := map[string]string{"first_name": "Ann", "phone": "+33612345678", "country": "FR"}
			if err != nil || !maps.Equal(got, want) {
				f.Errorf("Profile = %v, %v; want %v", got, err, want)
			}
			f.wantStats("w1", storage.WebinarStats{Registrants: 1})
			// A refused registration merges nothing.
			f.expect(f.reg().email(a).profile(map[string]string{"country": "DE"}), rejected(storage.ReasonNoWebinar, eid(a)))
			if got, _ := f.l.Profile(f.ctx, f.acct, eid(a)); got["country"] != "FR" {
				f.Errorf("a refused registration changed the profile: %v", got)
			}
		}},
	}
}
