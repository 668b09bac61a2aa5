package hitindex

import (
	"context"
	"fmt"

	"github.com/pixelpost/pixelpost/storage"
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
	people := erasedPeople(emailSHA256, attendeeIDs)
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
	if n > 0 || x.scrubPending.Load() {
		// bbolt keeps deleted values in its free pages until they are
		// reused: overwrite them. A failed scrub is tried again by the
		// next erasure (the DELETE is answered 503 and sent again).
		if err := x.db.ScrubFreePages(); err != nil {
			x.scrubPending.Store(true)
			return n, fmt.Errorf("cannot overwrite the index's free pages: %w", err)
		}
		x.scrubPending.Store(false)
	}
	return n, nil
}

// ConvertedClicks returns the clicks the person's rows converted
// (storage.RowErasure.ConvertedClick: conversion rows of a click, not
// refused), as ClickHouse's ConvertedClicks does.
func (x *Index) ConvertedClicks(ctx context.Context, account, emailSHA256 string, attendeeIDs ...string) ([]string, error) {
	seen := map[string]bool{}
	var ids []string
	err := x.view(ctx, func(tx *bolt.Tx) error {
		b, ok := openAccount(tx, account)
		if !ok {
			return nil
		}
		var f fact
		for _, p := range erasedPeople(emailSHA256, attendeeIDs) {
			prefix := lpKey(p, nil)
			c := b.people.Cursor()
			for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Next() {
				v := b.facts.Get(k[len(prefix):])
				if v == nil || decodeFact(v, &f) != nil {
					continue
				}
				if f.kind == storage.KindPostback && f.clickID != "" && f.status != string(storage.StatusRejected) && !seen[f.clickID] {
					id := clone(f.clickID)
					seen[id] = true
					ids = append(ids, id)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot find the attendee's clicks: %w", err)
	}
	return ids, nil
}

// StripClicks blanks what the rows of the given clicks (each click's row
// and its conversions' rows) say of the visit (storage.Hit.StripClick),
// as ClickHouse's StripClicks does: campaign, cost, time, status and
// values stay. The old copies of the rewritten pages are overwritten by
// the Erase that follows.
func (x *Index) StripClicks(ctx context.Context, account string, clickIDs map[string]bool) error {
	if len(clickIDs) == 0 {
		return ctx.Err()
	}
	err := x.update(func(tx *bolt.Tx) error {
		b, ok := openAccount(tx, account)
		if !ok {
			return nil
		}
		var keys [][]byte
		for id := range clickIDs {
			prefix := lpKey(id, nil)
			c := b.clicks.Cursor()
			for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Next() {
				keys = append(keys, append([]byte(nil), k[len(prefix):]...))
			}
		}
		var f fact
		for _, key := range keys {
			raw, oldFact := b.rows.Get(key), b.facts.Get(key)
			if raw == nil || oldFact == nil || decodeFact(oldFact, &f) != nil {
				continue
			}
			row, err := storage.DecodeHit(raw)
			if err != nil {
				continue // unreadable: left as it is, like ClickHouse's damaged parts
			}
			row.StripClick()
			nf := newFact(&row)
			nf.clickSource, nf.clickNetwork = f.clickSource, f.clickNetwork // looked up at indexing
			if err := b.facts.Put(key, nf.encode(nil)); err != nil {
				return err
			}
			if err := b.rows.Put(key, storage.AppendHit(nil, &row)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot strip the clicks' rows: %w", err)
	}
	x.scrubPending.Store(true) // the next Erase overwrites the old pages
	return nil
}

// erasedPeople are the people/ prefixes of an erased person.
func erasedPeople(emailSHA256 string, attendeeIDs []string) []string {
	var people []string
	if emailSHA256 != "" {
		people = append(people, "e"+emailSHA256)
	}
	for _, id := range attendeeIDs {
		if id != "" {
			people = append(people, "a"+id)
		}
	}
	return people
}
