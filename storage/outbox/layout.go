package outbox

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pixelpost/pixelpost/internal/boltfile"
)

// The file holds four top-level buckets:
//
//	meta        version, counts (JSON)
//	deliveries  one sub-bucket per account: id -> record (version byte + JSON Delivery)
//	due         8-byte big-endian NextAt (unix ns) + id -> account; pending deliveries only
//	keys        uvarint-prefixed account, kind, then Key -> id of the latest delivery with it
//
// Ids sort by time, so an account's bucket scanned backwards is newest
// first, and the due bucket scanned forwards is the delivery order.
var (
	bucketMeta       = []byte("meta")
	bucketDeliveries = []byte("deliveries")
	bucketDue        = []byte("due")
	bucketKeys       = []byte("keys")
	keyCounts        = []byte("counts")
)

const (
	layoutVersion = 1
	recordVersion = 1
)

var errCorrupt = errors.New("corrupt record")

// counts are the persistent counters behind Stats.
type counts struct {
	Pending   int64  `json:"pending"`
	Delivered int64  `json:"delivered"`
	Failed    int64  `json:"failed"`
	Attempts  uint64 `json:"attempts"`
}

func (c *counts) add(d counts) {
	c.Pending += d.Pending
	c.Delivered += d.Delivered
	c.Failed += d.Failed
	c.Attempts += d.Attempts
}

// move counts a delivery leaving state from ("" for a new one) for to.
func (c *counts) move(from, to string) {
	if from == to {
		return
	}
	for _, s := range []struct {
		st string
		n  int64
	}{{from, -1}, {to, 1}} {
		switch s.st {
		case StatusPending:
			c.Pending += s.n
		case StatusDelivered:
			c.Delivered += s.n
		case StatusFailed:
			c.Failed += s.n
		}
	}
}

// initLayout creates the buckets and returns the stored counts.
func initLayout(db *boltfile.DB) (counts, error) {
	var c counts
	err := db.Update(func(tx *bolt.Tx) error {
		if err := boltfile.InitLayout(tx, layoutVersion, bucketDeliveries, bucketDue, bucketKeys); err != nil {
			return err
		}
		if v := tx.Bucket(bucketMeta).Get(keyCounts); v != nil {
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("counts: %w", errCorrupt)
			}
		}
		return nil
	})
	return c, err
}

// txn wraps a write transaction and the counter changes it makes.
type txn struct {
	tx    *bolt.Tx
	delta counts
}

func encodeRecord(d *Delivery) ([]byte, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	return append([]byte{recordVersion}, b...), nil
}

func decodeRecord(v []byte) (Delivery, error) {
	var d Delivery
	if len(v) < 1 || v[0] != recordVersion {
		return d, errCorrupt
	}
	if err := json.Unmarshal(v[1:], &d); err != nil {
		return d, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	return d, nil
}

// getRecord reads a delivery in any transaction; ErrNotFound if absent.
func getRecord(tx *bolt.Tx, account, id string) (Delivery, error) {
	b := tx.Bucket(bucketDeliveries).Bucket([]byte(account))
	if b == nil {
		return Delivery{}, ErrNotFound
	}
	v := b.Get([]byte(id))
	if v == nil {
		return Delivery{}, ErrNotFound
	}
	d, err := decodeRecord(v)
	if err != nil {
		return d, fmt.Errorf("delivery %s: %w", id, err)
	}
	return d, nil
}

// put stores d and keeps the due index in step: prev is the stored version
// (zero for a new delivery), whose due entry is replaced.
func (t *txn) put(prev, d *Delivery) error {
	b, err := t.tx.Bucket(bucketDeliveries).CreateBucketIfNotExists([]byte(d.Account))
	if err != nil {
		return err
	}
	v, err := encodeRecord(d)
	if err != nil {
		return err
	}
	if err := b.Put([]byte(d.ID), v); err != nil {
		return err
	}
	due := t.tx.Bucket(bucketDue)
	if prev.Status == StatusPending {
		if err := due.Delete(dueKey(prev.NextAt, prev.ID)); err != nil {
			return err
		}
	}
	if d.Status == StatusPending {
		if err := due.Put(dueKey(d.NextAt, d.ID), []byte(d.Account)); err != nil {
			return err
		}
	}
	t.delta.move(prev.Status, d.Status)
	return nil
}

// flush adds the counter changes to the stored counts.
func (t *txn) flush() error {
	meta := t.tx.Bucket(bucketMeta)
	var c counts
	if v := meta.Get(keyCounts); v != nil {
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("counts: %w", errCorrupt)
		}
	}
	c.add(t.delta)
	v, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return meta.Put(keyCounts, v)
}

func dueKey(at time.Time, id string) []byte {
	k := make([]byte, 8, 8+len(id))
	ns := at.UnixNano()
	if ns < 0 {
		ns = 0
	}
	binary.BigEndian.PutUint64(k, uint64(ns))
	return append(k, id...)
}

func parseDueKey(k []byte) (time.Time, string, bool) {
	if len(k) <= 8 {
		return time.Time{}, "", false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(k[:8]))), string(k[8:]), true
}

func keyIndexKey(account, kind, key string) []byte {
	k := make([]byte, 0, 2*binary.MaxVarintLen64+len(account)+len(kind)+len(key))
	k = binary.AppendUvarint(k, uint64(len(account)))
	k = append(k, account...)
	k = binary.AppendUvarint(k, uint64(len(kind)))
	k = append(k, kind...)
	return append(k, key...)
}
