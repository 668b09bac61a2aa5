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
