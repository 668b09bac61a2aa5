package embedded

import (
	"bytes"
	"context"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

// Erased attendees: accounts/<account>/erased/<attendee id> -> time key of
// the erasure. Ops of that attendee dated up to then are refused.
var bucketErased = []byte("erased")

// EraseAttendee erases the attendee of email (storage.Ledger), in one
// transaction.
func (l *Ledger) EraseAttendee(ctx context.Context, account, email string, at time.Time) (storage.Erasure, error) {
	id := attribution.EmailAttendeeID(email)
	var er storage.Erasure
	err := l.update(ctx, func(tx *bolt.Tx) error {
		er = storage.Erasure{AttendeeID: id}
		t := newTxn(tx)
		a := t.account(account)
		if a == nil {
			return notFound("account", account)
		}
		if err := a.erase(id, nanos(at), &er); err != nil {
			return err
		}
		return t.flush()
	})
	if err != nil {
		return er, err
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

func (a *acctTxn) erase(id string, at int64, er *storage.Erasure) error {
	e, err := a.attendee(id)
	if err != nil {
		return err
	}
	er.Found = e.rec != nil
	if err := a.eraseOrders(id, er); err != nil {
		return err
	}
	if err := a.eraseClicks(id, er); err != nil {
		return err
	}
	if e.rec != nil {
		for _, w := range e.rec.Webinars { // it converted for w
			st, err := a.statsOf(w)
			if err != nil {
				return err
			}
			st.Converted--
			k := pair(w, id)
			if a.registrants.Get(k) != nil {
				st.ConvertedRegistrants--
			}
			if err := a.converted.Delete(k); err != nil {
				return err
			}
		}
	}
	err = a.webinars.ForEach(func(w, _ []byte) error {
		k := pair(string(w), id)
		if a.registrants.Get(k) == nil {
			return nil
		}
		st, err := a.statsOf(string(w))
		if err != nil {
			return err
		}
		st.Registrants--
		er.Registrations++
		return a.registrants.Delete(k)
	})
	if err != nil {
		return err
	}
	var linked [][]byte
	c := a.cookies.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if string(v) == id {
			linked = append(linked, bytes.Clone(k))
		}
	}
	for _, k := range linked {
		if err := a.cookies.Delete(k); err != nil {
			return err
		}
	}
	er.Cookies = len(linked)
	delete(a.attendees, id) // not written back by flush
	if err := a.acctBuckets.attendees.Delete([]byte(id)); err != nil {
		return err
	}
	if pb := a.root.Bucket(bucketProfiles); pb != nil {
		if err := pb.Delete([]byte(id)); err != nil {
			return err
		}
	}
	eb, err := a.root.CreateBucketIfNotExists(bucketErased)
	if err != nil {
		return err
	}
	if v := eb.Get([]byte(id)); len(v) == 8 && timeFromKey(v) >= at {
		return nil // erased later already
	}
	return eb.Put([]byte(id), appendTimeKey(nil, at))
}

// eraseOrders removes the attendee's orders (its order list: current
// orders and the copies of those replaced) and what they counted in their
// webinars' totals.
func (a *acctTxn) eraseOrders(id string, er *storage.Erasure) error {
	prefix := lp(nil, id)
	type entry struct {
		k, v []byte
	}
	var list []entry
	c := a.attOrders.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		list = append(list, entry{bytes.Clone(k), bytes.Clone(v)})
	}
	for _, en := range list {
		rest := en.k[len(prefix):]
		if len(rest) < 8 {
			continue
		}
		firstSeen, key := timeFromKey(rest[:8]), string(rest[8:])
		var rec *orderRec
		if len(en.v) > 0 {
			var err error
			if rec, err = decodeOrder(en.v); err != nil { // a replaced order
				return err
			}
		} else {
			oe, err := a.order(key)
			if err != nil {
				return err
			}
			if oe.rec != nil && oe.rec.AttendeeID == id && oe.rec.FirstSeen == firstSeen {
				rec = oe.rec
				delete(a.orders, key) // not written back by flush
				if err := a.acctBuckets.orders.Delete([]byte(key)); err != nil {
					return err
				}
			}
		}
		if rec != nil {
			for _, w := range rec.Webinars {
				st, err := a.statsOf(w)
				if err != nil {
					return err
				}
				st.Sales--
				st.Revenue.add(rec.Currency, -rec.Amount)
			}
			er.Orders++
		}
		if err := a.attOrders.Delete(en.k); err != nil {
			return err
		}
	}
	return nil
}

// erased reports whether an op of attendee id dated t is refused: the
// attendee was erased at or after t.
func (a *acctTxn) erased(id string, t time.Time) bool {
	if id == "" {
		return false
	}
	if !a.erasedLoaded {
		a.erasedB, a.erasedLoaded = a.root.Bucket(bucketErased), true
	}
	if a.erasedB == nil {
		return false
	}
	v := a.erasedB.Get([]byte(id))
	return len(v) == 8 && nanos(t) <= timeFromKey(v)
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
