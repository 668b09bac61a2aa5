package embedded

import (
	"context"
	"fmt"
	"os"
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

// scrubFreePages overwrites with zeros every free page of the file. Bolt
// never changes a page in place: the erased values stay in the old copies
// of the pages the erasure (and earlier writes) replaced, free pages of
// the file, until a later write reuses them. Holding mu alone, no read
// transaction is open, so the write transaction releases every pending
// page and none of the free pages is in use; they are written through a
// second descriptor before that transaction commits (the mapping is
// shared: bolt reads what is written). Cost: one pass over the page ids
// and one write per free page, under a pause of the ledger.
func (l *Ledger) scrubFreePages() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return ErrClosed
	}
	f, err := os.OpenFile(l.db.Path(), os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("cannot overwrite free pages: %w", err)
	}
	defer f.Close()
	err = l.db.Update(func(tx *bolt.Tx) error {
		size := tx.DB().Info().PageSize
		zeros := make([]byte, size)
		pages := int(tx.Size() / int64(size))
		for id := 2; id < pages; id++ { // 0 and 1 are the meta pages
			p, err := tx.Page(id)
			if err != nil {
				return err
			}
			if p != nil && p.Type == "free" {
				if _, err := f.WriteAt(zeros, int64(id)*int64(size)); err != nil {
					return err
				}
			}
		}
		return f.Sync()
	})
	if err != nil {
		return fmt.Errorf("cannot overwrite free pages: %w", l.wrap(err))
	}
	return nil
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
