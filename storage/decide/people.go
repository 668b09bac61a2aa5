package decide

import (
	"maps"

	"github.com/pixelpost/pixelpost/storage"
)

// register decides a registration to the webinars r.
func (t *Txn) register(op *storage.Op, id, email string, r []string) (storage.Result, error) {
	switch {
	case len(r) == 0:
		return rejected(storage.ReasonNoWebinar, id), nil
	case id == "":
		return rejected(storage.ReasonNoAttendee, id), nil
	}
	t.list(r)
	if err := t.identify(op, id, email); err != nil {
		return storage.Result{}, err
	}
	a, err := t.attendee(id)
	if err != nil {
		return storage.Result{}, err
	}
	isNew := false
	for _, w := range r {
		reg, err := t.registration(w, id)
		if err != nil {
			return storage.Result{}, err
		}
		if reg != nil {
			continue
		}
		t.putRegistration(w, id, &Registration{At: op.Time.UnixNano(), Email: a.Email})
		st := t.ch.stats(w)
		st.Registrants++
		if converted(a, w) {
			st.ConvertedRegistrants++
		}
		isNew = true
	}
	profileChanged := false
	if len(op.Profile) > 0 {
		if _, profileChanged, err = t.mergeProfile(id, op.Profile); err != nil {
			return storage.Result{}, err
		}
	}
	switch {
	case isNew:
		return storage.Result{Status: storage.StatusAccepted, Credited: r, AttendeeID: id}, nil
	case profileChanged:
		return storage.Result{Status: storage.StatusUpdated, Credited: r, AttendeeID: id}, nil
	}
	return storage.Result{Status: storage.StatusDuplicate, Reason: storage.ReasonAlreadyRegistered, Credited: r, AttendeeID: id}, nil
}

// lead merges the op's profile fields into the attendee's profile.
func (t *Txn) lead(op *storage.Op, id string) (storage.Result, error) {
	isNew, changed, err := t.mergeProfile(id, op.Profile)
	switch {
	case err != nil:
		return storage.Result{}, err
	case isNew:
		return storage.Result{Status: storage.StatusAccepted, AttendeeID: id}, nil
	case changed:
		return storage.Result{Status: storage.StatusUpdated, AttendeeID: id}, nil
	}
	return storage.Result{Status: storage.StatusDuplicate, Reason: storage.ReasonSameProfile, AttendeeID: id}, nil
}

// mergeProfile merges fields into the attendee's profile: a field is set
// when the profile lacks it or has another value (a field sent empty, a
// card's hidden field, is a value like another); a profile is new when
// the attendee had none, and exists from then on even without fields.
// isNew when it had none, changed when new or a field was set.
func (t *Txn) mergeProfile(id string, fields map[string]string) (isNew, changed bool, err error) {
	prof, err := t.profile(id)
	if err != nil {
		return false, false, err
	}
	isNew = prof == nil
	set := map[string]string{}
	for k, v := range fields {
		if old, ok := prof[k]; !ok || old != v {
			set[k] = v
		}
	}
	if !isNew && len(set) == 0 {
		return false, false, nil
	}
	merged := maps.Clone(prof)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, set)
	t.profiles[id] = merged
	c := t.ch.Profiles[id]
	if c == nil || c.Deleted {
		c = &ProfileChange{Set: map[string]string{}, Created: isNew}
		t.ch.Profiles[id] = c
	}
	maps.Copy(c.Set, set)
	return isNew, true, nil
}
