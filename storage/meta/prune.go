package meta

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Pruning keeps each dataset's event history bounded: every pruneEvery the
// forwarder drops sent and failed events older than Config.KeepFor,
// pruneBatch per transaction so that enqueues never wait long.
const (
	pruneEvery = time.Hour
	pruneBatch = 1000
)

// Prune deletes the sent and failed events whose event time is before
// before, in every dataset; pending ones stay. It returns how many it
// deleted.
func (f *Forwarder) Prune(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n := 0
		err := f.db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketDatasets).ForEachBucket(func(name []byte) error {
				evb := tx.Bucket(bucketDatasets).Bucket(name).Bucket(bucketEvents)
				var gone [][]byte
				err := evb.ForEach(func(k, v []byte) error {
					if n+len(gone) >= pruneBatch {
						return nil
					}
					r, err := decode[eventRec](v, "event")
					if err == nil && r.Status != StatusPending && r.EventTime.Before(before) {
						gone = append(gone, append([]byte(nil), k...))
					}
					return nil
				})
				if err != nil {
					return err
				}
				for _, k := range gone {
					if err := evb.Delete(k); err != nil {
						return err
					}
				}
				n += len(gone)
				return nil
			})
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("cannot prune meta events: %w", wrap(err))
		}
		if n < pruneBatch {
			return total, nil
		}
	}
}
