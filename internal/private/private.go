// Package private holds the one rule for the files pixelpost writes (the
// data dir, write-ahead logs, ledger, outbox, Meta queue, admin token):
// readable and writable by pixelpost's own user only. They hold emails,
// order ids, tokens and money.
package private

import (
	"fmt"
	"io/fs"
	"os"
)

// Modes of every directory and file pixelpost creates.
const (
	DirMode  fs.FileMode = 0o700
	FileMode fs.FileMode = 0o600
)

// MkdirAll creates dir and its missing parents with DirMode. An existing
// directory keeps its mode (see Tighten).
func MkdirAll(dir string) error { return os.MkdirAll(dir, DirMode) }

// OpenFile is os.OpenFile with FileMode for a file it creates.
func OpenFile(path string, flag int) (*os.File, error) { return os.OpenFile(path, flag, FileMode) }

// WriteFile is os.WriteFile with FileMode for a file it creates.
func WriteFile(path string, b []byte) error { return os.WriteFile(path, b, FileMode) }

// Tighten takes the group's and others' permissions off an existing
// directory (what it holds is then out of their reach, whatever the modes
// of older files in it) and returns the mode it had; changed is false when
// there was nothing to take.
func Tighten(dir string) (was fs.FileMode, changed bool, err error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return 0, false, fmt.Errorf("cannot stat %s: %w", dir, err)
	}
	was = fi.Mode().Perm()
	if was&0o077 == 0 {
		return was, false, nil
	}
	if err := os.Chmod(dir, was&^0o077); err != nil {
		return was, false, fmt.Errorf("cannot make %s private: %w", dir, err)
	}
	return was, true, nil
}
