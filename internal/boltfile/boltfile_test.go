package boltfile

import (
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestInitLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.db")
	db, err := Open(path, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	init := func(version byte) error {
		return db.Update(func(tx *bolt.Tx) error { return InitLayout(tx, version, []byte("a"), []byte("b")) })
	}
	if err := init(3); err != nil {
		t.Fatalf("new file: %v", err)
	}
	_ = db.View(func(tx *bolt.Tx) error {
		for _, name := range []string{"meta", "a", "b"} {
			if tx.Bucket([]byte(name)) == nil {
				t.Errorf("bucket %q missing", name)
			}
		}
		if v := tx.Bucket(bucketMeta).Get(keyVersion); len(v) != 1 || v[0] != 3 {
			t.Errorf("version %v, want [3]", v)
		}
		return nil
	})
	if err := init(3); err != nil {
		t.Errorf("same version again: %v", err)
	}
	if err := init(4); err == nil {
		t.Error("another version was accepted")
	}
}
