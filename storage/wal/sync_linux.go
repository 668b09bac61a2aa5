package wal

import (
	"os"
	"syscall"
)

// syncFile makes written data durable. fdatasync is enough: it also
// flushes the file size, and skips the times nobody reads.
func syncFile(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			if err != nil {
				return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}
