package wal

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/pixelpost/pixelpost/internal/private"
)

// RewriteStats says what Rewrite changed.
type RewriteStats struct {
	Segments int // segment files rewritten
	Erased   int // records erased
	Replaced int // records replaced by a shorter version
}

// Rewrite changes records of the sealed segments in place, for erasing a
// person's data from a log that is kept (the rows log of the embedded
// default is its raw-hit archive). Rotate first to seal the records
// appended so far.
//
// fn sees every record of every sealed segment, oldest first, and says
// what becomes of it: (nil, false) keeps it, (nil, true) erases it (its
// frame becomes an erased frame of the same size, which readers skip),
// (out, false) replaces it with out, at most as long, followed by zero
// bytes up to the old length (the record's decoder must accept that
// padding). rec aliases a buffer valid during the call only; out is
// written before fn is called again.
//
// A segment fn changes is written anew to a temporary file, synced and
// renamed over the old one, and the directory synced: a crash leaves the
// old segment or the new one, never a mix (Open deletes the temporary
// file). Frames keep their sizes, so positions, cursors and Readers stay
// valid; a Reader that had the old file open reads the old records until
// it opens the segment again. A damaged region is copied as it is (it
// cannot be read, so it cannot be told apart). Release waits while a
// segment is rewritten, so that a deleted segment never comes back.
func (l *Log) Rewrite(fn func(rec []byte) (out []byte, erase bool)) (RewriteStats, error) {
	var st RewriteStats
	l.segMu.RLock()
	sealed := append([]*segment(nil), l.segs[:len(l.segs)-1]...)
	l.segMu.RUnlock()
	for _, s := range sealed {
		select {
		case <-l.closedCh:
			return st, ErrClosed
		default:
		}
		if err := l.rewriteSegment(s, fn, &st); err != nil {
			return st, fmt.Errorf("cannot rewrite wal segment %s: %w", s.name, err)
		}
	}
	return st, nil
}

// rewriteSegment rewrites one sealed segment if fn changes a record of it.
func (l *Log) rewriteSegment(s *segment, fn func([]byte) ([]byte, bool), st *RewriteStats) error {
	l.rewriteMu.Lock()
	defer l.rewriteMu.Unlock()
	if l.released(s) {
		return nil
	}
	src, err := os.Open(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer src.Close()
	size := s.size.Load()
	tmp := s.path + tmpSuffix
	dst, err := private.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY)
	if err != nil {
		return err
	}
	keep := false
	defer func() {
		if !keep {
			dst.Close()
			os.Remove(tmp)
		}
	}()
	w := bufio.NewWriterSize(dst, readBufSize)
	if _, err := io.Copy(w, io.NewSectionReader(src, 0, segHeaderSize)); err != nil {
		return err
	}
	var fr frameReader
	fr.reset(src, segHeaderSize)
	var frame []byte
	changed := false
	for {
		start := fr.off
		rec, fst, err := fr.next(size)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch fst {
		case frameBad:
			// Copy the damage as it is, up to where frames resume.
			end, ok, err := resync(src, start, size)
			if err != nil {
				return err
			}
			if !ok {
				end = size
			}
			if _, err := io.Copy(w, io.NewSectionReader(src, start, end-start)); err != nil {
				return err
			}
			fr.reset(src, end)
			continue
		case frameErased:
			frame = appendErasedFrame(frame[:0], int(fr.off-start))
		default:
			out, erase := fn(rec)
			switch {
			case erase:
				frame = appendErasedFrame(frame[:0], frameHeaderSize+len(rec))
				st.Erased++
				changed = true
			case out != nil:
				if len(out) > len(rec) {
					return fmt.Errorf("a replacement of %d bytes for a record of %d", len(out), len(rec))
				}
				padded := append(append(make([]byte, 0, len(rec)), out...), make([]byte, len(rec)-len(out))...)
				frame = appendFrame(frame[:0], padded)
				st.Replaced++
				changed = true
			default:
				frame = appendFrame(frame[:0], rec)
			}
		}
		if _, err := w.Write(frame); err != nil {
			return err
		}
	}
	if !changed {
		return nil
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if !l.opts.NoSync {
		if err := syncFile(dst); err != nil {
			return err
		}
	}
	if err := dst.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return err
	}
	keep = true
	st.Segments++
	if l.opts.NoSync {
		return nil
	}
	return l.syncDir()
}

// released reports whether s is no longer one of the log's segments.
func (l *Log) released(s *segment) bool {
	l.segMu.RLock()
	defer l.segMu.RUnlock()
	for _, t := range l.segs {
		if t == s {
			return false
		}
	}
	return true
}
