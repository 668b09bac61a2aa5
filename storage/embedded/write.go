package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"

	bolt "go.etcd.io/bbolt"

	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/decide"
)

// Buckets of an account for the writes of decide (created when first
// needed, so files of earlier builds need no upgrade):
//
//	marks/    log id -> position (8 bytes, big-endian): the account's
//	          high-water mark of that hits log
//	results/  lp(log id) position -> storage.AppendResult: results kept
//	          for replays until the applier's saved cursor passes them
var (
	bucketMarks   = []byte("marks")
	bucketResults = []byte("results")
)

// write makes the writes decided for account, in the transaction.
func (t *txn) write(account string, ch *decide.Changes) error {
	if ch.Empty() {
		return nil
	}
	b, ok := openAccount(t.tx, account)
	if !ok {
		return fmt.Errorf("account %q: %w", account, storage.ErrNotFound)
	}
	w := writer{t: t, b: b, account: account}
	for _, step := range []func(*decide.Changes) error{
		w.webinars, w.orders, w.attendees, w.archived, w.cookies, w.registrations, w.stats,
		w.clicks, w.profiles, w.tombstones, w.logs,
	} {
		if err := step(ch); err != nil {
			return err
		}
	}
	return nil
}

type writer struct {
	t       *txn
	b       acctBuckets
	account string
}

func (w writer) bucket(name []byte) (*bolt.Bucket, error) {
	return w.b.root.CreateBucketIfNotExists(name)
}

func (w writer) webinars(ch *decide.Changes) error {
	for id, rec := range ch.Webinars {
		r := webinarRec{Name: rec.Name, Tags: rec.Tags}
		if err := w.b.webinars.Put([]byte(id), r.encode()); err != nil {
			return err
		}
	}
	for e, add := range ch.Tags {
		var err error
		if add {
			err = w.b.tags.Put(pair(e.Tag, e.Webinar), empty)
		} else {
			err = w.b.tags.Delete(pair(e.Tag, e.Webinar))
		}
		if err != nil {
			return err
		}
	}
	for _, id := range ch.Listed {
		k := []byte(id)
		if w.b.webinars.Get(k) == nil {
			if err := w.b.webinars.Put(k, (&webinarRec{}).encode()); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w writer) orders(ch *decide.Changes) error {
	for key, o := range ch.Orders {
		var err error
		if o == nil {
			err = w.b.orders.Delete([]byte(key))
		} else {
			err = w.b.orders.Put([]byte(key), decide.AppendOrder(nil, o))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// archived keeps the orders replaced after their window in their
// attendee's order list, after the attendees' new entries (an order first
// seen and replaced in the same batch).
func (w writer) archived(ch *decide.Changes) error {
	for _, a := range ch.Archived {
		if err := w.b.attOrders.Put(orderListKey(a.AttendeeID, a.Order.FirstSeen, a.Order.Key), decide.AppendOrder(nil, &a.Order)); err != nil {
			return err
		}
	}
	return nil
}

// orderListKey is an entry of an attendee's order list.
func orderListKey(attendeeID string, firstSeen int64, key string) []byte {
	return append(appendTimeKey(lp(nil, attendeeID), firstSeen), key...)
}

func (w writer) attendees(ch *decide.Changes) error {
	for id, c := range ch.Attendees {
		if c.Rec == nil { // erased
			if c.Was != nil {
				for _, web := range c.Was.Webinars { // the index of earlier builds
					if err := w.b.converted.Delete(pair(web, id)); err != nil {
						return err
					}
				}
			}
			for _, e := range c.DroppedOrders {
				if err := w.b.attOrders.Delete(orderListKey(id, e.FirstSeen, e.Key)); err != nil {
					return err
				}
			}
			if err := w.b.attendees.Delete([]byte(id)); err != nil {
				return err
			}
			continue
		}
		if err := w.b.attendees.Put([]byte(id), decide.AppendAttendee(nil, c.Rec)); err != nil {
			return err
		}
		for _, e := range c.NewOrders {
			if err := w.b.attOrders.Put(orderListKey(id, e.FirstSeen, e.Key), empty); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w writer) cookies(ch *decide.Changes) error {
	for cookie, id := range ch.Cookies {
		var err error
		if id == "" {
			err = w.b.cookies.Delete([]byte(cookie))
		} else {
			err = w.b.cookies.Put([]byte(cookie), []byte(id))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (w writer) registrations(ch *decide.Changes) error {
	for k, r := range ch.Registrations {
		var err error
		if r == nil {
			err = w.b.registrants.Delete(pair(k.Webinar, k.Attendee))
		} else {
			v := append(appendTimeKey(make([]byte, 0, 8+len(r.Email)), r.At), r.Email...)
			err = w.b.registrants.Put(pair(k.Webinar, k.Attendee), v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (w writer) stats(ch *decide.Changes) error {
	for web, d := range ch.Stats {
		st := &statsRec{}
		if v := w.b.stats.Get([]byte(web)); v != nil {
			var err error
			if st, err = decodeStats(v); err != nil {
				return fmt.Errorf("webinar %q: %w", web, err)
			}
		}
		st.Registrants += d.Registrants
		st.Converted += d.Converted
		st.ConvertedRegistrants += d.ConvertedRegistrants
		st.Sales += d.Sales
		for cur, v := range d.Revenue {
			st.Revenue.Add(cur, v)
		}
		if err := w.b.stats.Put([]byte(web), st.encode()); err != nil {
			return err
		}
	}
	return nil
}

func (w writer) clicks(ch *decide.Changes) error {
	if len(ch.Clicks) == 0 && len(ch.Conversions) == 0 && len(ch.Ties) == 0 && len(ch.Stripped) == 0 {
		return nil
	}
	clicks, err := w.bucket(bucketClicks)
	if err != nil {
		return err
	}
	for id, c := range ch.Clicks {
		v, err := json.Marshal(c.Rec)
		if err != nil {
			return err
		}
		if err := clicks.Put([]byte(id), v); err != nil {
			return err
		}
		if !c.KeepTTL {
			if err := w.t.indexClick(w.account, id, c.Rec.Expires); err != nil {
				return err
			}
		}
	}
	for _, s := range ch.Stripped {
		v, err := json.Marshal(s.Rec)
		if err != nil {
			return err
		}
		if err := clicks.Put([]byte(s.Ref), v); err != nil {
			return err
		}
	}
	convs, err := w.bucket(bucketConvs)
	if err != nil {
		return err
	}
	for key, c := range ch.Conversions {
		v, err := json.Marshal(c.Rec)
		if err != nil {
			return err
		}
		if err := convs.Put([]byte(key), v); err != nil {
			return err
		}
	}
	for _, t := range ch.Ties {
		if err := tie(w.b.root, t.Attendee, t.ClickID); err != nil {
			return err
		}
	}
	return nil
}

func (w writer) profiles(ch *decide.Changes) error {
	if len(ch.Profiles) == 0 {
		return nil
	}
	pb, err := w.bucket(bucketProfiles)
	if err != nil {
		return err
	}
	for id, c := range ch.Profiles {
		if c.Deleted {
			if err := pb.Delete([]byte(id)); err != nil {
				return err
			}
			continue
		}
		prof := map[string]string{}
		if v := pb.Get([]byte(id)); v != nil {
			if err := json.Unmarshal(v, &prof); err != nil {
				return err
			}
		}
		maps.Copy(prof, c.Set)
		v, err := json.Marshal(prof)
		if err != nil {
			return err
		}
		if err := pb.Put([]byte(id), v); err != nil {
			return err
		}
	}
	return nil
}

func (w writer) tombstones(ch *decide.Changes) error {
	if len(ch.Tombstones) == 0 {
		return nil
	}
	eb, err := w.bucket(bucketErased)
	if err != nil {
		return err
	}
	for id, at := range ch.Tombstones {
		if err := eb.Put([]byte(id), appendTimeKey(nil, at)); err != nil {
			return err
		}
	}
	return nil
}

// logs writes the marks and the results kept for replays, and drops the
// results the applier's cursor passed and those an erasure scrubbed.
func (w writer) logs(ch *decide.Changes) error {
	if len(ch.Marks) == 0 && len(ch.Retain) == 0 && len(ch.Forget) == 0 && len(ch.Scrubbed) == 0 {
		return nil
	}
	marks, err := w.bucket(bucketMarks)
	if err != nil {
		return err
	}
	for log, pos := range ch.Marks {
		if err := marks.Put([]byte(log), binary.BigEndian.AppendUint64(nil, pos)); err != nil {
			return err
		}
	}
	results, err := w.bucket(bucketResults)
	if err != nil {
		return err
	}
	for log, kept := range ch.Forget {
		prefix := lp(nil, log)
		c := results.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8 &&
			binary.BigEndian.Uint64(k[len(prefix):]) <= kept; k, _ = c.Seek(prefix) {
			if err := c.Delete(); err != nil {
				return err
			}
		}
	}
	for _, r := range ch.Retain {
		if r.Pos <= ch.Forget[r.Log] {
			continue
		}
		if err := results.Put(resultKey(r.Log, r.Pos), storage.AppendResult(nil, &r.Result)); err != nil {
			return err
		}
	}
	for _, r := range ch.Scrubbed {
		if err := results.Delete(resultKey(r.Log, r.Pos)); err != nil {
			return err
		}
	}
	return nil
}

// Marks returns the account's high-water marks by log
// (storage.MarkReader).
func (l *Ledger) Marks(ctx context.Context, account string) (map[string]uint64, error) {
	out := map[string]uint64{}
	err := l.view(ctx, func(tx *bolt.Tx) error {
		b, ok := openAccount(tx, account)
		if !ok {
			return notFound("account", account)
		}
		mb := b.root.Bucket(bucketMarks)
		if mb == nil {
			return nil
		}
		return mb.ForEach(func(k, v []byte) error {
			if len(v) == 8 {
				out[string(k)] = binary.BigEndian.Uint64(v)
			}
			return nil
		})
	})
	return out, err
}
