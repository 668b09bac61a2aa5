package decide

import (
	"fmt"
	"slices"

	"github.com/pixelpost/pixelpost/storage"
)

// PutWebinar creates or replaces a webinar's name and tags, and moves it
// in the tag index so that later ops resolve its tags to the new set. The
// account must exist.
func (t *Txn) PutWebinar(w storage.Webinar) error {
	if err := CheckWebinar(w); err != nil {
		return err
	}
	tags := Tags(w.Tags)
	old, err := t.v.Webinar(w.ID)
	if err != nil {
		return err
	}
	if old != nil {
		for _, tag := range old.Tags {
			if !slices.Contains(tags, tag) {
				t.ch.Tags[TagEntry{tag, w.ID}] = false
			}
		}
	}
	for _, tag := range tags {
		t.ch.Tags[TagEntry{tag, w.ID}] = true
	}
	t.ch.Webinars[w.ID] = &Webinar{Name: w.Name, Tags: tags}
	return nil
}

// CheckWebinar refuses a webinar no ledger can key.
func CheckWebinar(w storage.Webinar) error {
	if w.ID == "" || len(w.ID) > MaxIDLen {
		return fmt.Errorf("cannot put webinar: invalid id of %d bytes", len(w.ID))
	}
	for _, tag := range w.Tags {
		if len(tag) > MaxIDLen {
			return fmt.Errorf("cannot put webinar %q: tag of %d bytes", w.ID, len(tag))
		}
	}
	return nil
}

// Tags is a webinar's tags as kept: a set, read back sorted, empty tags
// dropped; never nil.
func Tags(tags []string) []string {
	out := make([]string, 0, len(tags))
	for _, tag := range tags {
		if tag != "" {
			out = append(out, tag)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// CheckConfigID refuses a configuration document no ledger can key.
func CheckConfigID(account, kind, id string) error {
	if id == "" || len(id) > MaxIDLen || kind == "" || account == "" {
		return fmt.Errorf("cannot put %s: invalid id of %d bytes", kind, len(id))
	}
	return nil
}

// ClaimConfig decides whether account may put a document of kind under id
// when owner (the account holding a global id, "" for none) holds it:
// ids of storage.GlobalKinds are unique across accounts (they appear in
// URLs that name no account), and another account's id is
// storage.ErrConflict. claim: the ledger records account as its owner.
func ClaimConfig(account, kind, id, owner string) (claim bool, err error) {
	if !storage.GlobalKinds[kind] {
		return false, nil
	}
	if owner != "" && owner != account {
		return false, fmt.Errorf("%s %q belongs to another account: %w", kind, id, storage.ErrConflict)
	}
	return owner == "", nil
}

// ReleaseConfig decides whether deleting a document frees its global id:
// only when account owns it.
func ReleaseConfig(account, kind, owner string) bool {
	return storage.GlobalKinds[kind] && owner == account
}

// ReadsConfig reports whether the ledger's rules read documents of kind
// (a postback reads its click's campaign when the click predates access):
// a store that caches what the rules read must see such a change.
func ReadsConfig(kind string) bool { return kind == storage.ConfigCampaign }
