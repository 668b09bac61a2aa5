package wal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// Reader reads records in order from a position on. It sees durable
// records only, so it never returns a record an Append has not (yet)
// acknowledged; it may run while Appends happen. A Reader is not safe for
// concurrent use; use one per goroutine. Close it when done.
type Reader struct {
	l   *Log
	pos Pos
	seg *segment
	fr  frameReader
	err error // sticky
}

// NewReader returns a Reader whose first record is the one at from: 0 or
// First() for the whole log, a saved cursor, or a position Append returned.
func (l *Log) NewReader(from Pos) *Reader {
	return &Reader{l: l, pos: from}
}

// Pos returns the position of the next record Next would return (or of
// an erased frame before it, which Next skips).
func (r *Reader) Pos() Pos { return r.pos }

// Next returns the next record and the position after it (save that in a
// cursor once the record is processed). rec aliases the Reader's buffer
// and is valid until the next call of Next; copy what you keep.
//
// At the durable end Next returns io.EOF; Wait then Next again to tail the
// log. A *CorruptError (errors.Is ErrCorrupt) reports damage, and
// ErrReleased a position whose segment was deleted; both are returned again
// on every later call (open a new Reader to go on).
func (r *Reader) Next() (rec []byte, next Pos, err error) {
	if r.err != nil {
		return nil, r.pos, r.err
	}
	for {
		durable := Pos(r.l.durable.Load())
		if r.pos >= durable {
			return nil, r.pos, io.EOF
		}
		if r.seg == nil || r.pos >= Pos(r.seg.end.Load()) {
			if err := r.openSegment(); err != nil {
				r.err = err
				return nil, r.pos, err
			}
			continue
		}
		limit := min(durable, Pos(r.seg.end.Load()))
		rec, st, err := r.fr.next(r.offset(limit))
		switch {
		case err == io.EOF:
			// limit was the end of a sealed segment: go on in the next.
			continue
		case err != nil:
			r.err = fmt.Errorf("cannot read wal segment %s: %w", r.seg.name, err)
			return nil, r.pos, r.err
		case st == frameBad:
			r.err = r.corrupt(limit)
			return nil, r.pos, r.err
		}
		r.pos = r.seg.base + Pos(r.fr.off-segHeaderSize)
		if st == frameErased {
			continue // erased in place by Rewrite
		}
		return rec, r.pos, nil
	}
}

func (r *Reader) offset(p Pos) int64 { return segHeaderSize + int64(p-r.seg.base) }

func (r *Reader) openSegment() error {
	r.closeFile()
	s, at, ok := r.l.segmentFor(r.pos)
	if !ok {
		return fmt.Errorf("%w: position %d is below the oldest stored %d", ErrReleased, r.pos, r.l.First())
	}
	f, err := os.Open(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: segment %s of position %d was deleted", ErrReleased, s.name, r.pos)
	}
	if err != nil {
		return fmt.Errorf("cannot open wal segment: %w", err)
	}
	r.seg, r.pos = s, at
	r.fr.reset(f, r.offset(at))
	return nil
}

// corrupt builds the error for a bad frame at r.pos, finding where intact
// data resumes.
func (r *Reader) corrupt(limit Pos) error {
	e := &CorruptError{Segment: r.seg.name, Pos: r.pos, Resume: limit, Reason: "bad frame"}
	off, ok, err := resync(r.fr.f, r.offset(r.pos), r.offset(limit))
	switch {
	case err != nil:
		e.Reason = fmt.Sprintf("bad frame; cannot look further: %v", err)
	case ok:
		e.Resume = r.seg.base + Pos(off-segHeaderSize)
	case limit == Pos(r.seg.end.Load()):
		if next, ok := r.l.nextSegmentBase(r.seg); ok {
			e.Resume = next
		}
	}
	return e
}

func (r *Reader) closeFile() {
	if r.fr.f != nil {
		r.fr.f.Close()
		r.fr.f = nil
	}
	r.seg = nil
}

// Close releases the Reader's file. It is idempotent.
func (r *Reader) Close() error {
	r.closeFile()
	r.fr.buf = nil
	if r.err == nil {
		r.err = errors.New("wal reader closed")
	}
	return nil
}

// Wait blocks until the log holds durable records at or after pos (End() >
// pos), the context ends (its error is returned), or the Log is closed
// (ErrClosed).
func (l *Log) Wait(ctx context.Context, pos Pos) error {
	if Pos(l.durable.Load()) > pos {
		return nil
	}
	l.waiters.Add(1)
	defer l.waiters.Add(-1)
	for {
		l.notifyMu.Lock()
		ch := l.notifyCh
		l.notifyMu.Unlock()
		if Pos(l.durable.Load()) > pos {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-l.closedCh:
			return ErrClosed
		}
	}
}

// notify wakes Wait callers after the durable end moved.
func (l *Log) notify() {
	if l.waiters.Load() == 0 {
		return
	}
	l.notifyMu.Lock()
	close(l.notifyCh)
	l.notifyCh = make(chan struct{})
	l.notifyMu.Unlock()
}
