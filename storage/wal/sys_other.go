//go:build !unix

package wal

import (
	"fmt"
	"os"

	"github.com/pixelpost/pixelpost/internal/private"
)

// lockDir only creates the lock file: no advisory locking here.
func lockDir(path string) (*os.File, error) {
	f, err := private.OpenFile(path, os.O_CREATE|os.O_RDWR)
	if err != nil {
		return nil, fmt.Errorf("cannot create wal lock: %w", err)
	}
	return f, nil
}
