package outbox

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Limits checked by Enqueue (bbolt keys are at most 32 KiB).
const (
	maxAccountLen = 256
	maxKeyLen     = 1024
	maxURLLen     = 8192
)

// Enqueue stores d as a pending delivery, due now, and returns its id once
// it is durable (committed and fsync'd): the caller may then acknowledge
// what caused it. Concurrent calls share one commit.
//
// When d.Key is set and a delivery of the same Account, Kind and Key is
// pending or delivered, nothing is stored and its id is returned with a nil
// error. A URL that the SSRF guard or CheckURL refuses is stored all the
// same: its first attempt records why, and it fails then (check configured
// URLs early with CheckURL). Errors: ErrInvalid (wrapped) for a malformed
// d, ErrClosed, ctx's error, storage errors; then nothing was stored.
// Enqueue does not keep d or its maps and slices.
func (o *Outbox) Enqueue(ctx context.Context, d Delivery) (string, error) {
	if err := o.prepare(&d); err != nil {
		return "", fmt.Errorf("cannot enqueue %s delivery: %w", d.Kind, err)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if o.life.Closed() {
		return "", ErrClosed
	}
	now := o.now()
	d.ID = o.ids.next(now)
	d.CreatedAt, d.UpdatedAt, d.NextAt = now, now, now
	d.Status = StatusPending

	var id string
	var delta counts
	err := o.db.Batch(func(tx *bolt.Tx) error {
		// Batch may run this twice (alone after a failed batch): start over.
		id, delta = "", counts{}
		t := &txn{tx: tx}
		if d.Key != "" {
			keys := tx.Bucket(bucketKeys)
			kk := keyIndexKey(d.Account, d.Kind, d.Key)
			if v := keys.Get(kk); v != nil {
				prev, err := getRecord(tx, d.Account, string(v))
				if err == nil && prev.Status != StatusFailed {
					id = prev.ID
					return nil
				}
			}
			if err := keys.Put(kk, []byte(d.ID)); err != nil {
				return err
			}
		}
		if err := t.put(&Delivery{}, &d); err != nil {
			return err
		}
		id, delta = d.ID, t.delta
		return t.flush()
	})
	if err != nil {
		return "", fmt.Errorf("cannot enqueue %s delivery: %w", d.Kind, wrap(err))
	}
	o.addCounts(delta)
	if id == d.ID {
		o.poke()
	}
	return id, nil
}

// prepare validates d and normalises it into a copy the outbox owns.
func (o *Outbox) prepare(d *Delivery) error {
	switch {
	case d.Account == "" || len(d.Account) > maxAccountLen:
		return fmt.Errorf("%w: account must have 1 to %d bytes", ErrInvalid, maxAccountLen)
	case !validKind(d.Kind):
		return fmt.Errorf("%w: unknown kind %q", ErrInvalid, d.Kind)
	case len(d.Key) > maxKeyLen:
		return fmt.Errorf("%w: key longer than %d bytes", ErrInvalid, maxKeyLen)
	case d.URL == "" || len(d.URL) > maxURLLen:
		return fmt.Errorf("%w: url must have 1 to %d bytes", ErrInvalid, maxURLLen)
	case len(d.Body) > o.cfg.MaxBodyBytes:
		return fmt.Errorf("%w: body of %d bytes exceeds %d", ErrInvalid, len(d.Body), o.cfg.MaxBodyBytes)
	}
	d.Method = strings.ToUpper(d.Method)
	if d.Method == "" {
		d.Method = "GET"
		if d.Body != nil {
			d.Method = "POST"
		}
	}
	if strings.ContainsAny(d.Method, " \t\r\n") {
		return fmt.Errorf("%w: bad method %q", ErrInvalid, d.Method)
	}
	d.Headers = maps.Clone(d.Headers)
	d.Body = append([]byte(nil), d.Body...)
	d.Attempts, d.AttemptCount, d.Failures = nil, 0, 0
	d.RetriedAt = time.Time{}
	return nil
}

func (o *Outbox) addCounts(d counts) {
	o.countsMu.Lock()
	o.counts.add(d)
	o.countsMu.Unlock()
}
