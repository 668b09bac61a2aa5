package redisledger

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

// cookieScanCount is how many cookie links one HSCAN step reads.
const cookieScanCount = 1000

// EraseAttendee erases the attendee of email (storage.Ledger). The cookie
// links to it are found first with HSCAN, so that a large cookie hash is
// read in steps rather than in one script that would stall Redis; the
// script then erases everything at once, unlinking those cookies that
// still link to it. A cookie linked in between is unlinked by the next
// EraseAttendee, and its ops are refused meanwhile by the tombstone only
// if dated before it.
func (l *Ledger) EraseAttendee(ctx context.Context, account, email string, at time.Time) (storage.Erasure, error) {
	if !keyable(account) {
		return storage.Erasure{}, fmt.Errorf("account %q: %w", account, storage.ErrNotFound)
	}
	id := attribution.EmailAttendeeID(email)
	link := hx(id) + id
	args := []any{id, hx(id), strconv.FormatInt(at.UnixNano(), 10)}
	iter := l.c.HScan(ctx, keyPrefix(account)+"cookies", 0, "", cookieScanCount).Iterator()
	for iter.Next(ctx) {
		cookie := iter.Val()
		if !iter.Next(ctx) {
			break
		}
		if iter.Val() == link {
			args = append(args, cookie)
		}
	}
	if err := iter.Err(); err != nil {
		return storage.Erasure{}, wrap("cannot erase attendee of "+account, err)
	}
	v, err := l.erase.Run(ctx, l.c, []string{accountKey(account)}, args...).Slice()
	if err != nil {
		return storage.Erasure{}, wrap("cannot erase attendee of "+account, err)
	}
	if len(v) < 5 {
		return storage.Erasure{}, fmt.Errorf("account %q: %w", account, storage.ErrNotFound)
	}
	var n [5]int
	for i := range n {
		x, ok := v[i].(int64)
		if !ok {
			return storage.Erasure{}, fmt.Errorf("cannot erase attendee of %s: bad reply %v", account, v[:5])
		}
		n[i] = int(x)
	}
	er := storage.Erasure{AttendeeID: id, Found: n[0] == 1, Orders: n[1], Registrations: n[2], Cookies: n[3], Clicks: n[4]}
	for _, x := range v[5:] {
		if s, ok := x.(string); ok {
			er.ClickIDs = append(er.ClickIDs, s)
		}
	}
	slices.Sort(er.ClickIDs)
	return er, nil
}

// Erased returns the account's tombstones (storage.Ledger).
func (l *Ledger) Erased(ctx context.Context, account string) (map[string]time.Time, error) {
	if !keyable(account) {
		return nil, fmt.Errorf("account %q: %w", account, storage.ErrNotFound)
	}
	all, err := l.c.HGetAll(ctx, keyPrefix(account)+"erased").Result()
	if err != nil {
		return nil, wrap("cannot read erasures of "+account, err)
	}
	out := make(map[string]time.Time, len(all))
	for id, ns := range all {
		n, err := strconv.ParseInt(ns, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("erasure of %s in %s: bad time %q", id, account, ns)
		}
		out[id] = time.Unix(0, n).UTC()
	}
	return out, nil
}
