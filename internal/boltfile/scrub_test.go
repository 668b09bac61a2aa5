package boltfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// A value deleted or replaced stays in bolt's old copies of its pages
// (free pages) until ScrubFreePages overwrites them; what the file still
// holds is untouched.
func TestScrubFreePages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.db")
	db, err := Open(path, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	put := func(k, v string) {
		t.Helper()
		err := db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("b"))
			if err != nil {
				return err
			}
			if v == "" {
				return b.Delete([]byte(k))
			}
			return b.Put([]byte(k), []byte(v))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 200 {
		put(fmt.Sprintf("k%03d", i), fmt.Sprintf("kept-value-%03d", i))
	}
	put("gone", "SECRET-DELETED")
	put("moved", "SECRET-REPLACED")
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("b"))
		return errors.Join(b.Delete([]byte("gone")), b.Put([]byte("moved"), []byte("new-value")))
	})
	if err != nil {
		t.Fatal(err)
	}
	holds := func(s string) bool {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Contains(b, []byte(s))
	}
	if !holds("SECRET-DELETED") || !holds("SECRET-REPLACED") {
		t.Fatal("the file lost the old values without a scrub: the test shows nothing")
	}
	if err := db.ScrubFreePages(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"SECRET-DELETED", "SECRET-REPLACED"} {
		if holds(s) {
			t.Errorf("the file holds %q after ScrubFreePages", s)
		}
	}
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("b"))
		if v := string(b.Get([]byte("moved"))); v != "new-value" {
			t.Errorf("moved = %q", v)
		}
		for i := range 200 {
			if v := string(b.Get(fmt.Appendf(nil, "k%03d", i))); v != fmt.Sprintf("kept-value-%03d", i) {
				t.Errorf("k%03d = %q", i, v)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// The scrubbed file opens again and is consistent.
	db2, err := Open(path, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if err := db2.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	}); err != nil {
		t.Errorf("check after reopening: %v", err)
	}
}
