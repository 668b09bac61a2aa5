package storage

import (
	"context"
	"errors"
	"time"
)

// Tombstones tells the rows of erased people in an archive (the rows log)
// from the others, so that importing or folding the archive again cannot
// bring them back (SPEC §6). It reads each account's tombstones once; it
// is not safe for concurrent use.
type Tombstones struct {
	ledger    Ledger
	byAccount map[string]map[string]time.Time
}

// NewTombstones reads tombstones from l.
func NewTombstones(l Ledger) *Tombstones {
	return &Tombstones{ledger: l, byAccount: map[string]map[string]time.Time{}}
}

// Erased reports whether h is a row of an attendee erased at or after the
// hit's time. A row of an account the ledger does not know is not.
func (t *Tombstones) Erased(ctx context.Context, h *Hit) (bool, error) {
	if h.AttendeeID == "" {
		return false, nil
	}
	tombs, ok := t.byAccount[h.Account]
	if !ok {
		var err error
		tombs, err = t.ledger.Erased(ctx, h.Account)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return false, err
		}
		t.byAccount[h.Account] = tombs
	}
	at, ok := tombs[h.AttendeeID]
	return ok && !h.Time.After(at), nil
}
