//go:build !unix

package wal

import (
	"fmt"
	"os"
)

// lockDir only creates the lock file: no advisory locking here.
func lockDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot create wal lock: %w", err)
	}
	return f, nil
}
