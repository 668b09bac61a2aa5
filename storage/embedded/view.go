package embedded

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/decide"
)

// view is decide.View on one account's buckets, inside a write
// transaction.
type view struct {
	t       *txn
	account string
	b       acctBuckets
	ok      bool // the account exists
}

var _ decide.View = (*view)(nil)

func (v *view) Exists() (bool, error) { return v.ok, nil }

func (v *view) Mark(log string) (uint64, error) {
	if mb := v.b.root.Bucket(bucketMarks); mb != nil {
		if m := mb.Get([]byte(log)); len(m) == 8 {
			return binary.BigEndian.Uint64(m), nil
		}
	}
	return 0, nil
}

func (v *view) Retained(log string, pos uint64) (*storage.Result, error) {
	rb := v.b.root.Bucket(bucketResults)
	if rb == nil {
		return nil, nil
	}
	r := rb.Get(resultKey(log, pos))
	if r == nil {
		return nil, nil
	}
	res, err := storage.DecodeResult(r)
	if err != nil {
		return nil, nil // kept by a build whose result we cannot read: none
	}
	return &res, nil
}

// LegacyHit looks the hit id up in the ids earlier builds remembered.
func (v *view) LegacyHit(op *storage.Op) (bool, *storage.Result, error) {
	val := v.t.hits.Get(pair(op.Account, op.HitID))
	if val == nil {
		return false, nil, nil
	}
	if len(val) > dayKeyLen {
		if orig, err := storage.DecodeResult(val[dayKeyLen:]); err == nil {
			return true, &orig, nil
		}
	}
	return true, nil, nil
}

func (v *view) Order(key string) (*decide.Order, error) {
	val := v.b.orders.Get([]byte(key))
	if val == nil {
		return nil, nil
	}
	o, err := decodeOrder(val)
	if err != nil {
		return nil, fmt.Errorf("order %q: %w", key, err)
	}
	return o, nil
}

func (v *view) Attendee(id string) (*decide.Attendee, error) {
	val := v.b.attendees.Get([]byte(id))
	if val == nil {
		return nil, nil
	}
	a, err := decodeAttendee(val)
	if err != nil {
		return nil, fmt.Errorf("attendee %q: %w", id, err)
	}
	return a, nil
}

func (v *view) CookieLink(cookie string) (string, error) {
	return string(v.b.cookies.Get([]byte(cookie))), nil
}

func (v *view) Registration(w, id string) (*decide.Registration, error) {
	val := v.b.registrants.Get(pair(w, id))
	if val == nil {
		return nil, nil
	}
	if len(val) < 8 {
		return nil, fmt.Errorf("registrant: %w", decide.ErrCorrupt)
	}
	return &decide.Registration{At: timeFromKey(val), Email: string(val[8:])}, nil
}

func (v *view) TagMembers(tag string) ([]string, error) {
	var out []string
	prefix := lp(nil, tag)
	c := v.b.tags.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, string(k[len(prefix):]))
	}
	return out, nil
}

func (v *view) Tombstone(id string) (int64, bool, error) {
	eb := v.b.root.Bucket(bucketErased)
	if eb == nil {
		return 0, false, nil
	}
	val := eb.Get([]byte(id))
	if len(val) != 8 {
		return 0, false, nil
	}
	return timeFromKey(val), true, nil
}

func (v *view) Click(id string) (*storage.ClickRec, error) {
	cb := v.b.root.Bucket(bucketClicks)
	if cb == nil {
		return nil, nil
	}
	val := cb.Get([]byte(id))
	if val == nil {
		return nil, nil
	}
	var c storage.ClickRec
	if err := json.Unmarshal(val, &c); err != nil {
		return nil, fmt.Errorf("click %q: %w", id, err)
	}
	return &c, nil
}

func (v *view) Conversion(key string) (*storage.ConvRec, error) {
	cb := v.b.root.Bucket(bucketConvs)
	if cb == nil {
		return nil, nil
	}
	val := cb.Get([]byte(key))
	if val == nil {
		return nil, nil
	}
	var c storage.ConvRec
	if err := json.Unmarshal(val, &c); err != nil {
		return nil, fmt.Errorf("conversion %q: %w", key, err)
	}
	return &c, nil
}

func (v *view) Profile(id string) (map[string]string, error) {
	pb := v.b.root.Bucket(bucketProfiles)
	if pb == nil {
		return nil, nil
	}
	val := pb.Get([]byte(id))
	if val == nil {
		return nil, nil
	}
	prof := map[string]string{}
	if err := json.Unmarshal(val, &prof); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	return prof, nil
}

func (v *view) Config(kind, id string) ([]byte, error) {
	cfg := v.b.root.Bucket(bucketConfig)
	if cfg == nil {
		return nil, nil
	}
	if b := cfg.Bucket([]byte(kind)); b != nil {
		return b.Get([]byte(id)), nil
	}
	return nil, nil
}

func (v *view) Webinar(id string) (*decide.Webinar, error) {
	val := v.b.webinars.Get([]byte(id))
	if val == nil {
		return nil, nil
	}
	w, err := decodeWebinar(val)
	if err != nil {
		return nil, err
	}
	return &decide.Webinar{Name: w.Name, Tags: w.Tags}, nil
}

func (v *view) Webinars() ([]string, error) {
	var out []string
	err := v.b.webinars.ForEach(func(k, _ []byte) error {
		out = append(out, string(k))
		return nil
	})
	return out, err
}

func (v *view) OrderList(id string) ([]decide.ListedOrder, error) {
	var out []decide.ListedOrder
	prefix := lp(nil, id)
	c := v.b.attOrders.Cursor()
	for k, val := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, val = c.Next() {
		rest := k[len(prefix):]
		if len(rest) < 8 {
			continue
		}
		e := decide.ListedOrder{Key: string(rest[8:]), FirstSeen: timeFromKey(rest[:8])}
		if len(val) > 0 { // a replaced order, as last seen
			o, err := decodeOrder(val)
			if err != nil {
				return nil, err
			}
			e.Archived = o
		}
		out = append(out, e)
	}
	return out, nil
}

func (v *view) LinkedCookies(id string) ([]string, error) {
	var out []string
	err := v.b.cookies.ForEach(func(k, val []byte) error {
		if string(val) == id {
			out = append(out, string(k))
		}
		return nil
	})
	return out, err
}

func (v *view) TiedClicks(id string) ([]decide.TiedClick, error) {
	ab := v.b.root.Bucket(bucketAttClicks)
	if ab == nil {
		return nil, nil
	}
	var out []decide.TiedClick
	prefix := lp(nil, id)
	c := ab.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		clickID := string(k[len(prefix):])
		rec, err := v.Click(clickID)
		if err != nil {
			return nil, err
		}
		out = append(out, decide.TiedClick{Ref: clickID, ID: clickID, Rec: rec})
	}
	return out, nil
}

func (v *view) RetainedResults() ([]decide.Retained, error) {
	rb := v.b.root.Bucket(bucketResults)
	if rb == nil {
		return nil, nil
	}
	var out []decide.Retained
	err := rb.ForEach(func(k, val []byte) error {
		log, rest, ok := unpair(k)
		if !ok || len(rest) != 8 {
			return nil
		}
		res, err := storage.DecodeResult(val)
		if err != nil {
			return nil
		}
		out = append(out, decide.Retained{Log: log, Pos: binary.BigEndian.Uint64([]byte(rest)), Result: res})
		return nil
	})
	return out, err
}

// resultKey is lp(log) followed by pos, big-endian: a log's results in
// position order.
func resultKey(log string, pos uint64) []byte {
	return binary.BigEndian.AppendUint64(lp(nil, log), pos)
}
