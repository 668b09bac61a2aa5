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

// Holds matches the deliveries whose body or URL holds needle (an email,
// say; ASCII case ignored, and its URL-encoded form in URLs). An empty
// needle matches nothing.
func Holds(needle string) func(d *Delivery) bool {
	if needle == "" {
		return func(*Delivery) bool { return false }
	}
	lower := strings.ToLower(needle)
	escaped := strings.ToLower(url.QueryEscape(needle))
	return func(d *Delivery) bool {
		u := strings.ToLower(d.URL)
		return bytes.Contains(bytes.ToLower(d.Body), []byte(lower)) ||
			strings.Contains(u, lower) || strings.Contains(u, escaped)
	}
}

// Forget erases a person from an account's deliveries (GDPR): those that
// hold needle (Holds). See ForgetWhere.
func (o *Outbox) Forget(ctx context.Context, account, needle string) (int, error) {
	return o.ForgetWhere(ctx, account, Holds(needle))
}

// ForgetWhere erases a person from an account's deliveries (GDPR): each
// one match names loses its body, headers, the path and query of its URL
// (a postback template may put the person's values in either) and the
// responses of its attempts. One still pending is not sent: it fails with
// an "erased" error (an attempt in flight then records nothing). Then the
// old copies bolt keeps of changed pages are overwritten
// (boltfile.DB.ScrubFreePages: deliveries pause meanwhile). It returns
// how many deliveries it changed (one erased already is not counted
// again); match runs inside the transaction and must not block.
func (o *Outbox) ForgetWhere(ctx context.Context, account string, match func(d *Delivery) bool) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if o.life.Closed() {
		return 0, ErrClosed
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
			if err == nil && !d.Erased && match(&d) {
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
			d.URL = origin(d.URL)
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
	// Even when nothing changed now: a call repeated after a failed scrub
	// finishes the job.
	if err := o.db.ScrubFreePages(); err != nil {
		return changed, fmt.Errorf("cannot forget in the deliveries of %s: %w", account, wrap(err))
	}
	return changed, nil
}

// origin is the scheme and host of a URL, what an erased delivery keeps of
// it ("" when it does not parse).
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()
}
