package redisledger

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/pixelpost/pixelpost/storage"
)

// attendeeScanCount is how many keys one SCAN step looks at.
const attendeeScanCount = 500

// Attendees walks the account's attendees that have an email
// (storage.Ledger): SCAN over the account's attendee keys, on the node of
// its slot in a cluster, then each one read as AttendeeByID reads it. SCAN
// may return a key twice; each attendee is handed to fn once.
func (l *Ledger) Attendees(ctx context.Context, account string, fn func(storage.Attendee) error) error {
	if !keyable(account) {
		return fmt.Errorf("account %q: %w", account, storage.ErrNotFound)
	}
	node := redis.Cmdable(l.c)
	if cc, ok := l.c.(*redis.ClusterClient); ok {
		n, err := cc.MasterForKey(ctx, accountKey(account))
		if err != nil {
			return wrap("cannot list attendees of "+account, err)
		}
		node = n
	}
	if n, err := node.Exists(ctx, accountKey(account)).Result(); err != nil {
		return wrap("cannot list attendees of "+account, err)
	} else if n == 0 {
		return fmt.Errorf("account %q: %w", account, storage.ErrNotFound)
	}
	prefix := keyPrefix(account) + "a:"
	seen := map[string]bool{}
	iter := node.Scan(ctx, 0, globEscape(prefix)+"*", attendeeScanCount).Iterator()
	for iter.Next(ctx) {
		h := strings.TrimPrefix(iter.Val(), prefix)
		if seen[h] {
			continue
		}
		seen[h] = true
		fields, err := l.c.HGetAll(ctx, prefix+h).Result()
		if err != nil {
			return wrap("cannot read attendee of "+account, err)
		}
		if fields["r"] == "" {
			continue // erased meanwhile
		}
		a, err := l.readAttendee(ctx, account, fields)
		if err != nil {
			return fmt.Errorf("cannot read attendee %s of %s: %w", h, account, err)
		}
		if a.Email == "" {
			continue
		}
		if err := fn(a); err != nil {
			return err
		}
	}
	if err := iter.Err(); err != nil {
		return wrap("cannot list attendees of "+account, err)
	}
	return nil
}

// globEscape quotes the characters SCAN's MATCH pattern gives a meaning.
func globEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`).Replace(s)
}
