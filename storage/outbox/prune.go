package outbox

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Pruning keeps the history bounded: every pruneEvery the outbox deletes
// finished deliveries older than Config.KeepFor, pruneBatch per
// transaction so that enqueues never wait long for the file.
const (
	pruneEvery = time.Hour
	pruneBatch = 1000
)

// Prune deletes finished (delivered or failed) deliveries last changed
// before before, oldest first in each account, at most limit of them, and
// the Key index entries that point to them. Pending deliveries stay. It
// returns how many it deleted.
func (o *Outbox) Prune(ctx context.Context, before time.Time, limit int) (int, error) {
	total := 0
	for total < limit {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, more, err := o.pruneOnce(before, min(pruneBatch, limit-total))
		total += n
		if err != nil {
			return total, fmt.Errorf("cannot prune deliveries: %w", wrap(err))
		}
		if !more {
			break
		}
	}
	return total, nil
}

// pruneOnce deletes up to n deliveries in one transaction; more is true
// when it stopped because it reached n.
func (o *Outbox) pruneOnce(before time.Time, n int) (deleted int, more bool, err error) {
	var delta counts
	err = o.db.Update(func(tx *bolt.Tx) error {
		t := &txn{tx: tx}
		keys := tx.Bucket(bucketKeys)
		all := tx.Bucket(bucketDeliveries)
		var accounts [][]byte
		_ = all.ForEachBucket(func(k []byte) error {
			accounts = append(accounts, append([]byte(nil), k...))
			return nil
		})
		for _, acct := range accounts {
			b := all.Bucket(acct)
			var gone []Delivery
			c := b.Cursor()
			for k, v := c.First(); k != nil && deleted+len(gone) < n; k, v = c.Next() {
				d, err := decodeRecord(v)
				if err != nil {
					continue // left for an operator to look at
				}
				if !d.CreatedAt.Before(before) {
					break // ids sort by creation: the rest is younger
				}
				if d.Status != StatusPending && d.UpdatedAt.Before(before) {
					gone = append(gone, d)
				}
			}
			for _, d := range gone {
				if err := b.Delete([]byte(d.ID)); err != nil {
					return err
				}
				if d.Key != "" {
					kk := keyIndexKey(d.Account, d.Kind, d.Key)
					if string(keys.Get(kk)) == d.ID {
						if err := keys.Delete(kk); err != nil {
							return err
						}
					}
				}
				if d.Status == StatusFailed {
					t.delta.Failed-- // a gauge of the failed ones kept; Delivered counts ever
				}
			}
			deleted += len(gone)
			if deleted >= n {
				more = true
				break
			}
		}
		delta = t.delta
		return t.flush()
	})
	if err != nil {
		return 0, false, err
	}
	o.addCounts(delta)
	return deleted, more, nil
}
