package outbox

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// erasedError is the last error of a delivery Forget stopped.
const erasedError = "erased: the person asked to be forgotten"

// Forget erases a person from an account's deliveries (GDPR): each one
// whose body or URL holds needle (an email, say; ASCII case ignored, and
// its URL-encoded form in URLs) loses its body, headers, URL query and the
// responses of its attempts. One still pending is not sent: it fails with
// an "erased" error (an attempt in flight then records nothing). It
// returns how many deliveries it changed.
func (o *Outbox) Forget(ctx context.Context, account, needle string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if o.life.Closed() {
		return 0, ErrClosed
	}
	if needle == "" {
		return 0, nil
	}
	lower := []byte(strings.ToLower(needle))
	holds := func(d *Delivery) bool {
		return bytes.Contains(bytes.ToLower(d.Body), lower) ||
			strings.Contains(strings.ToLower(d.URL), string(lower)) ||
			strings.Contains(strings.ToLower(d.URL), strings.ToLower(url.QueryEscape(needle)))
	}
	now := o.now()
	changed := 0
	var delta counts
	err := o.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDeliveries).Bucket([]byte(account))
		if b == nil {
			return nil
		}
		var found []Delivery
		err := b.ForEach(func(_, v []byte) error {
			d, err := decodeRecord(v)
			if err == nil && holds(&d) {
				found = append(found, d)
			}
			return nil // a corrupt record holds nothing we can read
		})
		if err != nil {
			return err
		}
		t := &txn{tx: tx}
		for _, prev := range found {
			d := prev
			d.Body, d.Headers = nil, nil
			if i := strings.IndexByte(d.URL, '?'); i >= 0 {
				d.URL = d.URL[:i]
			}
			d.Attempts = append([]Attempt(nil), d.Attempts...)
			for i := range d.Attempts {
				d.Attempts[i].Response = ""
			}
			if d.Status == StatusPending {
				d.Status, d.NextAt = StatusFailed, time.Time{}
				d.Attempts = append(d.Attempts, Attempt{At: now, Error: erasedError})
			}
			d.UpdatedAt, d.Erased = now, true
			if err := t.put(&prev, &d); err != nil {
				return err
			}
			changed++
		}
		delta = t.delta
		return t.flush()
	})
	if err != nil {
		return 0, fmt.Errorf("cannot forget in the deliveries of %s: %w", account, wrap(err))
	}
	o.addCounts(delta)
	return changed, nil
}
