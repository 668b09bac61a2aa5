package wal

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// recover loads the segment list, repairs the tail of the last segment and
// opens the segment to append to. See the package documentation.
func (l *Log) recover() error {
	entries, err := os.ReadDir(l.opts.Dir)
	if err != nil {
		return fmt.Errorf("cannot list wal directory: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, tmpSuffix) {
			// An unfinished segment or cursor: it was never renamed into
			// place, so nothing refers to it.
			if err := os.Remove(filepath.Join(l.opts.Dir, name)); err != nil {
				return fmt.Errorf("cannot remove temporary file: %w", err)
			}
			continue
		}
		if base, ok := parseSegName(name); ok && e.Type().IsRegular() {
			l.segs = append(l.segs, newSegment(l.opts.Dir, base))
		}
	}
	slices.SortFunc(l.segs, func(a, b *segment) int { return cmp.Compare(a.base, b.base) })
	l.recovery.Segments = len(l.segs)

	for i, s := range l.segs {
		size, err := checkSegment(s)
		if err != nil {
			return err
		}
		s.size.Store(size)
		l.bytes.Add(size)
		l.nsegs.Add(1)
		l.reserved += size
		end := s.base + Pos(size-segHeaderSize)
		if i > 0 && s.base < Pos(l.segs[i-1].end.Load()) {
			return fmt.Errorf("%w: segment %s overlaps the one before it", ErrCorrupt, s.name)
		}
		if i < len(l.segs)-1 {
			s.end.Store(uint64(end))
		}
	}

	if len(l.segs) == 0 {
		s, f, err := l.createSegment(0)
		if err != nil {
			return err
		}
		l.reserved += segHeaderSize
		l.segs = []*segment{s}
		l.active, l.activeSeg, l.zeroEnd = f, s, s.size.Load()
		return nil
	}

	last := l.segs[len(l.segs)-1]
	f, err := os.OpenFile(last.path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("cannot open segment %s: %w", last.name, err)
	}
	l.active, l.activeSeg = f, last
	size := last.size.Load()
	good, n, err := scanSegment(f, size)
	if err != nil {
		return fmt.Errorf("cannot scan segment %s: %w", last.name, err)
	}
	l.recovery.Records = n
	if good < size {
		zeros, err := allZero(f, good, size)
		if err != nil {
			return fmt.Errorf("cannot scan segment %s: %w", last.name, err)
		}
		pos := last.base + Pos(good-segHeaderSize)
		if zeros || size-good <= l.opts.tornWindow {
			if err := f.Truncate(good); err != nil {
				return fmt.Errorf("cannot cut torn tail of segment %s: %w", last.name, err)
			}
			if err := syncFile(f); err != nil {
				return fmt.Errorf("cannot cut torn tail of segment %s: %w", last.name, err)
			}
			l.recovery.Cut, l.recovery.CutPos, l.recovery.BytesCut = true, pos, size-good
			last.size.Store(good)
			l.bytes.Add(good - size)
			l.reserved -= size - good
		} else {
			// Keep every byte; append to a new segment after it.
			l.recovery.Corrupt, l.recovery.CorruptPos = true, pos
			if err := l.roll(); err != nil {
				return err
			}
			l.reserved += segHeaderSize
		}
	}
	if _, err := l.active.Seek(0, io.SeekEnd); err != nil {
		return fmt.Errorf("cannot open segment %s: %w", l.activeSeg.name, err)
	}
	s := l.activeSeg
	l.zeroEnd = s.size.Load()
	l.segFill = s.size.Load() - segHeaderSize
	l.tail = s.base + Pos(l.segFill)
	l.durable.Store(uint64(l.tail))
	l.writtenEnd.Store(uint64(l.tail))
	l.recovery.End = l.tail
	return nil
}

// checkSegment validates the header of s and returns its file size.
func checkSegment(s *segment) (int64, error) {
	f, err := os.Open(s.path)
	if err != nil {
		return 0, fmt.Errorf("cannot open segment %s: %w", s.name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("cannot open segment %s: %w", s.name, err)
	}
	hdr := make([]byte, segHeaderSize)
	if _, err := io.ReadFull(f, hdr); err != nil {
		return 0, fmt.Errorf("%w: segment %s: short header: %v", ErrCorrupt, s.name, err)
	}
	base, err := decodeSegHeader(hdr)
	if err != nil {
		return 0, fmt.Errorf("%w: segment %s: %v", ErrCorrupt, s.name, err)
	}
	if base != s.base {
		return 0, fmt.Errorf("%w: segment %s: header says base %d", ErrCorrupt, s.name, base)
	}
	return st.Size(), nil
}

// scanSegment returns the file offset after the last of the consecutive
// intact frames from the header on, and how many there are.
func scanSegment(f *os.File, size int64) (good int64, n uint64, err error) {
	var fr frameReader
	fr.reset(f, segHeaderSize)
	for {
		_, st, err := fr.next(size)
		if err == io.EOF || st == frameBad {
			return fr.off, n, nil
		}
		if err != nil {
			return 0, 0, err
		}
		if st == frameOK {
			n++
		}
	}
}
