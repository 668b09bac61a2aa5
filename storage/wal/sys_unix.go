//go:build unix

package wal

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/pixelpost/pixelpost/internal/private"
)

// lockDir takes an exclusive flock on path, so that two processes never
// append to the same log. The kernel drops it when the process dies.
func lockDir(path string) (*os.File, error) {
	f, err := private.OpenFile(path, os.O_CREATE|os.O_RDWR)
	if err != nil {
		return nil, fmt.Errorf("cannot create wal lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("wal directory is in use by another process: %w", err)
		}
		return nil, fmt.Errorf("cannot lock wal directory: %w", err)
	}
	return f, nil
}
