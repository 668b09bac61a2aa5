// Package boltfile opens the project's bbolt files (the embedded ledger,
// the outbox, the Meta forwarder) the one way they all want, and checks
// their layout version.
package boltfile

import (
	"fmt"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pixelpost/pixelpost/internal/private"
)

// Every file keeps its layout version under "version" in bucket "meta".
var (
	bucketMeta = []byte("meta")
	keyVersion = []byte("version")
)

// Open opens (creating if needed, with its directory) the file at path.
// Only one process can have it open: a second Open waits for lockTimeout,
// then fails. The freelist is rebuilt by a scan at open instead of written
// by every commit: smaller commits on the hot path.
func Open(path string, lockTimeout time.Duration, noSync bool) (*DB, error) {
	if err := private.MkdirAll(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("cannot create directory: %w", err)
	}
	db, err := bolt.Open(path, private.FileMode, &bolt.Options{
		Timeout:        lockTimeout,
		NoSync:         noSync,
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: true,
	})
	if err != nil {
		return nil, err
	}
	return &DB{DB: db}, nil
}

// InitLayout creates bucket "meta" and the given top-level buckets, and
// checks the layout version: a new file gets version, a file with another
// one is refused.
func InitLayout(tx *bolt.Tx, version byte, buckets ...[]byte) error {
	for _, name := range append([][]byte{bucketMeta}, buckets...) {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	meta := tx.Bucket(bucketMeta)
	switch v := meta.Get(keyVersion); {
	case v == nil:
		return meta.Put(keyVersion, []byte{version})
	case len(v) != 1 || v[0] != version:
		return fmt.Errorf("unsupported layout version %v", v)
	}
	return nil
}
