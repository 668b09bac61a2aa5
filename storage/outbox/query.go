package outbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"
)

// List limits.
const (
	defaultListLimit = 100
	MaxListLimit     = 1000 // the most deliveries one List returns
)

// view runs a read transaction after checking ctx and Close.
func (o *Outbox) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if o.life.Closed() {
		return ErrClosed
	}
	return wrap(o.db.View(fn))
}

// Get returns the delivery id of account, or ErrNotFound (also when id
// belongs to another account).
func (o *Outbox) Get(ctx context.Context, account, id string) (Delivery, error) {
	var d Delivery
	err := o.view(ctx, func(tx *bolt.Tx) error {
		var err error
		d, err = getRecord(tx, account, id)
		return err
	})
	if err != nil {
		return Delivery{}, fmt.Errorf("cannot get delivery %s: %w", id, err)
	}
	return d, nil
}

// List returns account's deliveries matching f, newest first. It scans the
// account's deliveries from the newest until it has f.Limit of them, so a
// rare Status or Kind in a long history costs a long scan; the history is
// not pruned (yet). An unknown Status or Kind is ErrInvalid.
func (o *Outbox) List(ctx context.Context, account string, f ListFilter) ([]Delivery, error) {
	if f.Status != "" && !validStatus(f.Status) {
		return nil, fmt.Errorf("cannot list deliveries: %w: unknown status %q", ErrInvalid, f.Status)
	}
	if f.Kind != "" && !validKind(f.Kind) {
		return nil, fmt.Errorf("cannot list deliveries: %w: unknown kind %q", ErrInvalid, f.Kind)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultListLimit
	}
	limit = min(limit, MaxListLimit)
	var out []Delivery
	err := o.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDeliveries).Bucket([]byte(account))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		k, v := c.Last()
		if f.Before != "" {
			// Seek finds the first id ≥ Before: the one before it starts the page.
			if k, _ = c.Seek([]byte(f.Before)); k != nil {
				k, v = c.Prev()
			} else {
				k, v = c.Last()
			}
		}
		for ; k != nil && len(out) < limit; k, v = c.Prev() {
			d, err := decodeRecord(v)
			if err != nil {
				return fmt.Errorf("delivery %s: %w", k, err)
			}
			if (f.Status == "" || d.Status == f.Status) && (f.Kind == "" || d.Kind == f.Kind) {
				out = append(out, d)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot list deliveries: %w", err)
	}
	return out, nil
}

// Retry puts a failed delivery back to pending, due now, with a fresh
// MaxAge window and backoff (RetriedAt is set). Errors: ErrNotFound;
// ErrConflict when the delivery is not failed (a pending one is already
// retried, a delivered one must not be sent twice), was erased (Forget),
// or when a newer delivery with the same Key is pending or delivered.
func (o *Outbox) Retry(ctx context.Context, account, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if o.life.Closed() {
		return ErrClosed
	}
	now := o.now()
	var delta counts
	err := o.db.Update(func(tx *bolt.Tx) error {
		t := &txn{tx: tx}
		prev, err := getRecord(tx, account, id)
		if err != nil {
			return err
		}
		if prev.Status != StatusFailed {
			return fmt.Errorf("%w: it is %s", ErrConflict, prev.Status)
		}
		if prev.Erased {
			return fmt.Errorf("%w: it was erased (a person's data was removed from it)", ErrConflict)
		}
		if prev.Key != "" {
			keys := tx.Bucket(bucketKeys)
			kk := keyIndexKey(prev.Account, prev.Kind, prev.Key)
			if v := keys.Get(kk); v != nil && string(v) != prev.ID {
				other, err := getRecord(tx, prev.Account, string(v))
				if err == nil && other.Status != StatusFailed {
					return fmt.Errorf("%w: delivery %s with the same key is %s", ErrConflict, other.ID, other.Status)
				}
			}
			if err := keys.Put(kk, []byte(prev.ID)); err != nil {
				return err
			}
		}
		d := prev
		d.Status, d.NextAt, d.RetriedAt, d.UpdatedAt, d.Failures = StatusPending, now, now, now, 0
		if err := t.put(&prev, &d); err != nil {
			return err
		}
		delta = t.delta
		return t.flush()
	})
	if err != nil {
		return fmt.Errorf("cannot retry delivery %s: %w", id, wrap(err))
	}
	o.addCounts(delta)
	o.poke()
	return nil
}

// Stats returns the counters; cheap (no I/O), for metrics scrapes.
func (o *Outbox) Stats() Stats {
	o.countsMu.Lock()
	c := o.counts
	o.countsMu.Unlock()
	o.flightMu.Lock()
	n := len(o.inFlight)
	o.flightMu.Unlock()
	return Stats{Pending: c.Pending, Delivered: c.Delivered, Failed: c.Failed, Attempts: c.Attempts, InFlight: int64(n)}
}

// WithKeyPrefix returns the latest delivery of each idempotency Key of
// account and kind that starts with prefix, oldest first, at most limit:
// the deliveries of one conversion (their keys start with its
// storage.ConvKey) for the conversion log.
func (o *Outbox) WithKeyPrefix(ctx context.Context, account, kind, prefix string, limit int) ([]Delivery, error) {
	var out []Delivery
	err := o.view(ctx, func(tx *bolt.Tx) error {
		start := keyIndexKey(account, kind, prefix)
		c := tx.Bucket(bucketKeys).Cursor()
		for k, v := c.Seek(start); k != nil && len(out) < limit && bytes.HasPrefix(k, start); k, v = c.Next() {
			d, err := getRecord(tx, account, string(v))
			if errors.Is(err, ErrNotFound) {
				continue // pruned
			}
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot list deliveries of %s: %w", prefix, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
