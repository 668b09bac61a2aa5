package hitindex

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Erase deletes an erased person's rows (SPEC §6): every row of the
// account with that email hash or one of those attendee ids, as
// ClickHouse's DeleteAttendee does, so that the reports stay equal to
// ClickHouse's and nothing of the person (hash, attendee id, IP, user
// agent, query) stays here, not even in the file's free pages (the file
// is rewritten). It returns the number of rows deleted. Call it
// once the rows decided before the erasure are indexed (WaitIndexed):
// later rows of the person are refused by the ledger's tombstone and keep
// no trace of them.
func (x *Index) Erase(ctx context.Context, account, emailSHA256 string, attendeeIDs ...string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var people []string
	if emailSHA256 != "" {
		people = append(people, "e"+emailSHA256)
	}
	for _, id := range attendeeIDs {
		if id != "" {
			people = append(people, "a"+id)
		}
	}
	n := 0
	err := x.update(func(tx *bolt.Tx) error {
		b, ok := openAccount(tx, account)
		if !ok {
			return nil
		}
		// Collect the keys first: a cursor must not walk a bucket that is
		// being deleted from.
		var keys [][]byte
		for _, p := range people {
			prefix := lpKey(p, nil)
			c := b.people.Cursor()
			for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Next() {
				keys = append(keys, append([]byte(nil), k[len(prefix):]...))
			}
		}
		w := writer{tx: tx}
		for _, key := range keys {
			old := b.facts.Get(key)
			if old == nil {
				continue // found under both the hash and the id
			}
			if err := w.unindex(b, key, old); err != nil {
				return err
			}
			if err := b.facts.Delete(key); err != nil {
				return err
			}
			if err := b.rows.Delete(key); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("cannot erase rows: %w", err)
	}
	if n > 0 || x.compactPending.Load() {
		// A failed compaction is tried again by the next erasure (the
		// DELETE is answered 503 and sent again).
		if err := x.compact(); err != nil {
			x.compactPending.Store(true)
			return n, err
		}
		x.compactPending.Store(false)
	}
	return n, nil
}
