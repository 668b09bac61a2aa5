package embedded

import (
	"context"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/decide"
)

// Erased attendees: accounts/<account>/erased/<attendee id> -> time key of
// the erasure. Ops of that attendee dated up to then are refused.
var bucketErased = []byte("erased")

// EraseAttendee erases the attendee of email (storage.Ledger): decide's
// Erase on this file, written in one transaction.
func (l *Ledger) EraseAttendee(ctx context.Context, account, email string, at time.Time) (storage.Erasure, error) {
	var er storage.Erasure
	err := l.update(ctx, func(tx *bolt.Tx) error {
		t := newTxn(tx)
		v := t.view(account)
		if !v.ok {
			return notFound("account", account)
		}
		d := decide.New(v)
		var err error
		if er, err = d.Erase(email, at); err != nil {
			return err
		}
		return t.write(account, d.Changes())
	})
	if err != nil {
		return storage.Erasure{AttendeeID: attribution.EmailAttendeeID(email)}, err
	}
	return er, l.scrubFreePages()
}

// scrubFreePages overwrites the file's free pages, where bolt keeps the
// old copies of the pages the erasure (and earlier writes) replaced.
func (l *Ledger) scrubFreePages() error {
	if l.closed.Load() {
		return ErrClosed
	}
	return l.wrap(l.db.ScrubFreePages())
}

// Erased returns the account's tombstones (storage.Ledger).
func (l *Ledger) Erased(ctx context.Context, account string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	err := l.view(ctx, func(tx *bolt.Tx) error {
		b, ok := openAccount(tx, account)
		if !ok {
			return notFound("account", account)
		}
		eb := b.root.Bucket(bucketErased)
		if eb == nil {
			return nil
		}
		return eb.ForEach(func(k, v []byte) error {
			if len(v) == 8 {
				out[string(k)] = fromNanos(timeFromKey(v))
			}
			return nil
		})
	})
	return out, err
}
