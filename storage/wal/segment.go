package wal

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/pixelpost/pixelpost/internal/private"
)

// segment is one file of the log.
type segment struct {
	base Pos
	name string
	path string
	// end is the position after its last record once sealed (no more
	// appends), math.MaxUint64 while it is the active segment. It is
	// stored before the durable end moves past it.
	end  atomic.Uint64
	size atomic.Int64 // file size
}

func newSegment(dir string, base Pos) *segment {
	s := &segment{base: base, name: segName(base)}
	s.path = filepath.Join(dir, s.name)
	s.end.Store(math.MaxUint64)
	return s
}

// createSegment makes a new segment file with its header: written to a
// temporary name, synced, renamed, and the directory synced, so a segment
// file always has a whole header.
func (l *Log) createSegment(base Pos) (*segment, *os.File, error) {
	s := newSegment(l.opts.Dir, base)
	tmp := s.path + tmpSuffix
	f, err := private.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot create segment %s: %w", s.name, err)
	}
	fail := func(err error) (*segment, *os.File, error) {
		f.Close()
		os.Remove(tmp)
		return nil, nil, fmt.Errorf("cannot create segment %s: %w", s.name, err)
	}
	if _, err := f.Write(encodeSegHeader(base)); err != nil {
		return fail(err)
	}
	if !l.opts.NoSync {
		if err := syncFile(f); err != nil {
			return fail(err)
		}
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fail(err)
	}
	if !l.opts.NoSync {
		if err := l.syncDir(); err != nil {
			f.Close()
			return nil, nil, err
		}
	}
	s.size.Store(segHeaderSize)
	l.bytes.Add(segHeaderSize)
	l.nsegs.Add(1)
	return s, f, nil
}

// roll seals the active segment, whose data is synced, and starts a new
// one at the current write position. Called by the flusher only.
func (l *Log) roll() error {
	old := l.activeSeg
	// A sealed segment is read up to its file size after a restart: no
	// zeroed space may follow its data.
	if err := l.trimActive(); err != nil {
		return err
	}
	end := old.base + Pos(old.size.Load()-segHeaderSize)
	s, f, err := l.createSegment(end)
	if err != nil {
		return err
	}
	old.end.Store(uint64(end))
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	if err := l.active.Close(); err != nil {
		f.Close()
		return fmt.Errorf("cannot close segment %s: %w", old.name, err)
	}
	l.segMu.Lock()
	l.segs = append(l.segs, s)
	l.segMu.Unlock()
	l.active, l.activeSeg, l.zeroEnd = f, s, s.size.Load()
	return nil
}

// segmentFor returns the segment holding pos, moving pos forward over a
// gap between segments. ok is false if pos lies below the oldest segment.
func (l *Log) segmentFor(pos Pos) (s *segment, at Pos, ok bool) {
	l.segMu.RLock()
	defer l.segMu.RUnlock()
	if pos < l.segs[0].base {
		return nil, pos, false
	}
	// Few segments (MaxBytes/SegmentBytes): search from the newest,
	// where readers usually are.
	for i := len(l.segs) - 1; i >= 0; i-- {
		s := l.segs[i]
		if s.base > pos {
			continue
		}
		if pos >= Pos(s.end.Load()) && i+1 < len(l.segs) {
			return l.segs[i+1], l.segs[i+1].base, true
		}
		return s, pos, true
	}
	return nil, pos, false
}

// nextSegmentBase returns the base of the segment after s, or false if s is
// the newest.
func (l *Log) nextSegmentBase(s *segment) (Pos, bool) {
	l.segMu.RLock()
	defer l.segMu.RUnlock()
	for i, t := range l.segs {
		if t == s && i+1 < len(l.segs) {
			return l.segs[i+1].base, true
		}
	}
	return 0, false
}

// Release deletes every segment whose records all lie below upTo, the
// active segment excepted, and syncs the directory. Call it with the
// smallest position every consumer has durably passed (the minimum of the
// shippers' cursors); Readers at released positions get ErrReleased. Space
// freed lets Appends that got ErrFull succeed again.
func (l *Log) Release(upTo Pos) error {
	select {
	case <-l.closedCh:
		return ErrClosed
	default:
	}
	l.rewriteMu.Lock()
	defer l.rewriteMu.Unlock()
	l.segMu.Lock()
	var drop []*segment
	for len(l.segs) > 1 && Pos(l.segs[0].end.Load()) <= upTo {
		drop = append(drop, l.segs[0])
		l.segs = l.segs[1:]
	}
	l.segMu.Unlock()
	if len(drop) == 0 {
		return nil
	}
	var freed int64
	var errs []error
	for _, s := range drop {
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		freed += s.size.Load()
	}
	l.bytes.Add(-freed)
	l.nsegs.Add(-int64(len(drop) - len(errs)))
	l.mu.Lock()
	l.reserved -= freed
	if l.reserved < l.opts.MaxBytes {
		l.full.Store(false)
	}
	l.mu.Unlock()
	errs = append(errs, l.syncDir())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cannot release wal segments: %w", err)
	}
	return nil
}
