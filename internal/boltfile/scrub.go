package boltfile

import (
	"fmt"
	"os"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// DB is an open bolt file whose free pages can be overwritten. Every
// transaction run through View, Update or Batch holds mu shared;
// ScrubFreePages holds it alone. Do not call Begin on the embedded
// *bolt.DB: a transaction begun outside mu could be reading pages
// ScrubFreePages overwrites.
type DB struct {
	*bolt.DB
	mu sync.RWMutex
}

// View runs a read transaction (bolt.DB.View).
func (d *DB) View(fn func(*bolt.Tx) error) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.DB.View(fn)
}

// Update runs a write transaction (bolt.DB.Update).
func (d *DB) Update(fn func(*bolt.Tx) error) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.DB.Update(fn)
}

// Batch runs fn in a write transaction shared with concurrent callers
// (bolt.DB.Batch).
func (d *DB) Batch(fn func(*bolt.Tx) error) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.DB.Batch(fn)
}

// ScrubFreePages overwrites with zeros every free page of the file. Bolt
// never changes a page in place: a deleted or replaced value stays in the
// old copy of its page, a free page of the file, until a later write
// reuses it. An erasure calls this after deleting a person's data.
//
// A page a read transaction still sees is "free" to bolt too (pending), so
// it runs alone: it waits for the transactions under way and holds back
// new ones. With no reader open, the write transaction it opens releases
// every pending page, and the free pages are written through a second
// descriptor before that transaction ends (the mapping is shared: bolt
// reads what is written). Cost: one pass over the page ids and one write
// per free page, under a pause of the file's users.
func (d *DB) ScrubFreePages() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := os.OpenFile(d.Path(), os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("cannot overwrite free pages: %w", err)
	}
	defer f.Close()
	err = d.DB.Update(func(tx *bolt.Tx) error {
		size := tx.DB().Info().PageSize
		zeros := make([]byte, size)
		pages := int(tx.Size() / int64(size))
		for id := 2; id < pages; id++ { // 0 and 1 are the meta pages
			p, err := tx.Page(id)
			if err != nil {
				return err
			}
			if p != nil && p.Type == "free" {
				if _, err := f.WriteAt(zeros, int64(id)*int64(size)); err != nil {
					return err
				}
			}
		}
		return f.Sync()
	})
	if err != nil {
		return fmt.Errorf("cannot overwrite free pages: %w", err)
	}
	return nil
}
