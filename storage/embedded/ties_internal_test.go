package embedded

import (
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/pixelpost/pixelpost/internal/boltfile"
	"github.com/pixelpost/pixelpost/storage"
)

// A file whose ties were written before they were filed by click too gets
// them filed at Open, once, so that they go with their clicks.
func TestOpenFilesEarlierTiesByClick(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := Open(path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.PutAccount(t.Context(), storage.Account{ID: "acct", DefaultCurrency: "USD"}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	// As an earlier build left it: the tie by attendee only.
	db, err := boltfile.Open(path, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketAccounts).Bucket([]byte("acct"))
		b, err := root.CreateBucketIfNotExists(bucketAttClicks)
		if err != nil {
			return err
		}
		if err := b.Put(pair("e_ann", "click-1"), empty); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Delete(keyTiesIndexed)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	l, err = Open(path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = l.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAccounts).Bucket([]byte("acct")).Bucket(bucketClickAtts)
		if b == nil || b.Get(pair("click-1", "e_ann")) == nil {
			t.Error("the earlier tie is not filed by click")
		}
		if tx.Bucket(bucketMeta).Get(keyTiesIndexed) == nil {
			t.Error("the filing is not marked done")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
