package pipeline

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pixelpost/pixelpost/internal/private"
	"github.com/pixelpost/pixelpost/storage/wal"
)

// The hits log's identity, in its directory (logIDFile): a random id the
// ledger keeps its high-water mark under (storage.Op.Log), and the log's
// end when the id was given. Records up to that end were written by an
// earlier build, whose ledger remembered hit ids rather than positions:
// their ops carry storage.Op.CheckHitID. Each node's hits log is its own:
// a copy of a data directory for another node must not keep this file
// (its ops would be taken for the other node's replays).
const logIDFile = "log-id"

type logIdentity struct {
	ID string `json:"id"`
	// Since: records ending at or before it predate the id.
	Since wal.Pos `json:"since"`
}

// loadLogIdentity reads the identity of the hits log in dir, giving the
// log one (durably) the first time.
func loadLogIdentity(dir string, hits *wal.Log) (logIdentity, error) {
	path := filepath.Join(dir, logIDFile)
	b, err := os.ReadFile(path)
	if err == nil {
		var id logIdentity
		if err := json.Unmarshal(b, &id); err != nil || id.ID == "" {
			return logIdentity{}, fmt.Errorf("cannot read hits log id %s: not an id file", path)
		}
		return id, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return logIdentity{}, fmt.Errorf("cannot read hits log id: %w", err)
	}
	var r [8]byte
	if _, err := rand.Read(r[:]); err != nil {
		return logIdentity{}, fmt.Errorf("cannot make hits log id: %w", err)
	}
	id := logIdentity{ID: hex.EncodeToString(r[:])}
	if hits.End() > hits.First() {
		id.Since = hits.End()
	}
	b, _ = json.Marshal(id) // a string and a number: cannot fail
	if err := writeDurably(path, b); err != nil {
		return logIdentity{}, fmt.Errorf("cannot write hits log id: %w", err)
	}
	return id, nil
}

// writeDurably writes a file through a temporary one, synced and renamed
// over it, and syncs the directory.
func writeDurably(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := private.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
