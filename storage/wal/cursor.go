package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"

	"github.com/pixelpost/pixelpost/internal/private"
)

// Cursor file "<name>.cursor", 24 bytes: magic "pxpstCUR", uint32 version
// (1), uint64 position, uint32 CRC32-C of the bytes before it. Written to a
// temporary file, synced, renamed over the old one, directory synced.
const (
	cursorMagic   = "pxpstCUR"
	cursorSuffix  = ".cursor"
	cursorSize    = 24
	cursorVersion = 1
	maxCursorName = 64
)

func checkCursorName(name string) error {
	if name == "" || len(name) > maxCursorName {
		return fmt.Errorf("invalid wal cursor name %q: 1 to %d characters", name, maxCursorName)
	}
	for _, c := range []byte(name) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
		if !ok {
			return fmt.Errorf("invalid wal cursor name %q: letters, digits, _ and - only", name)
		}
	}
	return nil
}

// SaveCursor durably records pos under name (a consumer's position, e.g.
// "clickhouse"): when SaveCursor returns, Cursor returns pos, also after a
// crash. pos may not be beyond End(). Names are 1 to 64 letters, digits, _
// or -.
func (l *Log) SaveCursor(name string, pos Pos) error {
	if err := checkCursorName(name); err != nil {
		return err
	}
	if end := l.End(); pos > end {
		return fmt.Errorf("cannot save wal cursor %s: position %d is beyond the end %d", name, pos, end)
	}
	select {
	case <-l.closedCh:
		return ErrClosed
	default:
	}
	b := make([]byte, cursorSize)
	copy(b, cursorMagic)
	binary.LittleEndian.PutUint32(b[8:], cursorVersion)
	binary.LittleEndian.PutUint64(b[12:], uint64(pos))
	binary.LittleEndian.PutUint32(b[20:], crc32.Checksum(b[:20], castagnoli))

	l.cursorMu.Lock()
	defer l.cursorMu.Unlock()
	path := filepath.Join(l.opts.Dir, name+cursorSuffix)
	tmp := path + tmpSuffix
	err := writeSynced(tmp, b, !l.opts.NoSync)
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil && !l.opts.NoSync {
		err = l.syncDir()
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("cannot save wal cursor %s: %w", name, err)
	}
	return nil
}

func writeSynced(path string, b []byte, sync bool) error {
	f, err := private.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil && sync {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// Cursor returns the position last saved under name, or ErrNoCursor.
func (l *Log) Cursor(name string) (Pos, error) {
	if err := checkCursorName(name); err != nil {
		return 0, err
	}
	b, err := os.ReadFile(filepath.Join(l.opts.Dir, name+cursorSuffix))
	if errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("%w: %s", ErrNoCursor, name)
	}
	if err != nil {
		return 0, fmt.Errorf("cannot read wal cursor %s: %w", name, err)
	}
	if len(b) != cursorSize || string(b[:8]) != cursorMagic ||
		binary.LittleEndian.Uint32(b[8:]) != cursorVersion ||
		crc32.Checksum(b[:20], castagnoli) != binary.LittleEndian.Uint32(b[20:]) {
		return 0, fmt.Errorf("%w: cursor file %s", ErrCorrupt, name+cursorSuffix)
	}
	return Pos(binary.LittleEndian.Uint64(b[12:])), nil
}
