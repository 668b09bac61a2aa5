package ledgertest

import (
	"maps"

	"github.com/pixelpost/pixelpost/storage"
)

// profileCases pin the merge of profile fields (leads, imported
// registrants) where the ledgers once disagreed.
func profileCases() []testCase {
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
	}
}
