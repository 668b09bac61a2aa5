package hitindex

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pixelpost/pixelpost/report"
)

// scanFacts calls fn with the facts of account in r, oldest first (time,
// then hit id: the order the reports' "latest" rules read). The fact and
// its strings alias the transaction's memory: fn clones what it keeps.
// ctx is checked every few thousand rows.
func (x *Index) scanFacts(ctx context.Context, account string, r report.Range, fn func(ms int64, id string, f *fact)) error {
	from, to := r.MillisBounds()
	return x.view(ctx, func(tx *bolt.Tx) error {
		b, ok := openAccount(tx, account)
		if !ok {
			return nil
		}
		c := b.facts.Cursor()
		var f fact
		n := 0
		for k, v := c.Seek(rowKey(from, "")); k != nil; k, v = c.Next() {
			ms := keyMillis(k)
			if ms >= to {
				break
			}
			if n++; n%4096 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			if err := decodeFact(v, &f); err != nil {
				return fmt.Errorf("cannot read fact of %x: %w", k, err)
			}
			fn(ms, aliasString(k[8:]), &f)
		}
		return nil
	})
}

// dayOf names the calendar day of a time in a zone, remembering the
// current day's bounds: rows come in time order, so most need no
// conversion at all.
type dayOf struct {
	loc        *time.Location
	start, end int64 // ms bounds of day
	day        string
}

func newDayOf(tz string) (*dayOf, error) {
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "Local" {
		return nil, fmt.Errorf("%w: invalid time zone %q", report.ErrBadQuery, tz)
	}
	return &dayOf{loc: loc, start: 1, end: 0}, nil
}

// of returns the day of the instant ms (Unix milliseconds), counted in
// whole seconds as the hits table's ts is.
func (d *dayOf) of(ms int64) string {
	if ms >= d.start && ms < d.end {
		return d.day
	}
	t := time.Unix(ms/1000, 0).In(d.loc)
	y, m, dd := t.Date()
	d.day = t.Format(time.DateOnly)
	d.start = ms / 1000 * 1000
	// The next midnight, checked: a DST change at midnight can make
	// time.Date land an hour off; then only this second is remembered.
	end := time.Date(y, m, dd+1, 0, 0, 0, 0, d.loc).Unix()
	if time.Unix(end-1, 0).In(d.loc).Format(time.DateOnly) == d.day && time.Unix(end, 0).In(d.loc).Format(time.DateOnly) != d.day {
		d.end = end * 1000
	} else {
		d.end = d.start + 1000
	}
	return d.day
}
