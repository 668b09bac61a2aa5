package hitindex

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/pixelpost/pixelpost/report"
	"github.com/pixelpost/pixelpost/storage"
)

// LogRows returns up to q.Limit rows matching q, newest first
// (storage.Reports). It walks the period's facts backwards from the
// cursor, so a rare filter costs a scan of the period, never more.
func (x *Index) LogRows(ctx context.Context, account string, q report.LogQuery) ([]storage.Hit, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = report.DefaultLogLimit
	}
	from, to := q.Range.MillisBounds()
	upper := rowKey(to, "") // every key of a time < to is below it
	if !q.Before.IsZero() {
		if c := rowKey(q.Before.Millis, q.Before.HitID); bytes.Compare(c, upper) < 0 {
			upper = c
		}
	}
	var out []storage.Hit
	err := x.view(ctx, func(tx *bolt.Tx) error {
		b, ok := openAccount(tx, account)
		if !ok {
			return nil
		}
		c := b.facts.Cursor()
		k, v := c.Seek(upper)
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev() // the first key below upper
		}
		var f fact
		for n := 0; k != nil && len(out) < limit; k, v = c.Prev() {
			ms := keyMillis(k)
			if ms < from {
				break
			}
			if n++; n%4096 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			if err := decodeFact(v, &f); err != nil {
				return fmt.Errorf("cannot read fact of %x: %w", k, err)
			}
			if fields := f.logFields(ms); !q.Matches(&fields) {
				continue
			}
			h, err := decodeRow(b, k)
			if err != nil {
				return err
			}
			out = append(out, h)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot read log rows: %w", err)
	}
	return out, nil
}

// ClickRows returns the accepted clicks with these ids and the postbacks
// that created or changed their conversions, oldest first
// (storage.Reports).
func (x *Index) ClickRows(ctx context.Context, account string, clickIDs []string) ([]storage.Hit, error) {
	type keyed struct {
		key string
		h   storage.Hit
	}
	var rows []keyed
	err := x.view(ctx, func(tx *bolt.Tx) error {
		b, ok := openAccount(tx, account)
		if !ok {
			return nil
		}
		var f fact
		for _, id := range clickIDs {
			prefix := lpKey(id, nil)
			c := b.clicks.Cursor()
			for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Next() {
				key := k[len(prefix):]
				v := b.facts.Get(key)
				if v == nil {
					continue
				}
				if err := decodeFact(v, &f); err != nil {
					return fmt.Errorf("cannot read fact of %x: %w", key, err)
				}
				switch {
				case f.kind == storage.KindClick && f.status == string(storage.StatusAccepted):
				case f.kind == storage.KindPostback && (f.status == string(storage.StatusAccepted) || f.status == string(storage.StatusUpdated)):
				default:
					continue
				}
				h, err := decodeRow(b, key)
				if err != nil {
					return err
				}
				rows = append(rows, keyed{string(key), h})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot read click rows: %w", err)
	}
	slices.SortFunc(rows, func(a, b keyed) int { return bytes.Compare([]byte(a.key), []byte(b.key)) })
	out := make([]storage.Hit, 0, len(rows))
	for i, r := range rows {
		if i > 0 && r.key == rows[i-1].key {
			continue // a click id asked twice
		}
		out = append(out, r.h)
	}
	return out, nil
}

// decodeRow reads the whole row at key (a copy: it outlives the
// transaction).
func decodeRow(b *acctBuckets, key []byte) (storage.Hit, error) {
	v := b.rows.Get(key)
	if v == nil {
		return storage.Hit{}, fmt.Errorf("row %x missing", key)
	}
	h, err := storage.DecodeHit(v)
	if err != nil {
		return storage.Hit{}, fmt.Errorf("cannot read row %x: %w", key, err)
	}
	return h, nil
}
