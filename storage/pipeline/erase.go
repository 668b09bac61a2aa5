package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/wal"
)

// EraseRows takes an erased person out of the rows log (SPEC §6), the
// raw-hit archive of the embedded default and the rows still waiting for
// ClickHouse: their rows are erased and the rows of the clicks they
// converted stripped (storage.RowErasure), in place (wal.Log.Rewrite), so
// that positions and the shipper's cursor stay valid. The clicks found
// converted in the person's rows are added to e.ClickIDs, for the caller
// to strip elsewhere.
//
// Call it after Purge: every hit recorded before the erasure has its row
// then. It seals the active segment first, reads the log twice (the
// person's conversions come after the clicks they convert) and writes
// anew the segments it changes: its cost grows with the log, one pass of
// reading each time plus the segments written.
func (p *Pipeline) EraseRows(e *storage.RowErasure) (wal.RewriteStats, error) {
	if e.ClickIDs == nil {
		e.ClickIDs = map[string]bool{}
	}
	if p.handoff != nil {
		// Rows held in memory are the log's before the rewrite: the
		// shipper reads the rewritten log instead (Handoff.invalidate).
		p.handoff.invalidate()
		defer p.handoff.invalidate()
	}
	end, err := p.rows.Rotate()
	if err != nil {
		return wal.RewriteStats{}, fmt.Errorf("cannot seal the rows log: %w", err)
	}
	person := [][]byte{[]byte(e.AttendeeID), []byte(e.EmailSHA256)}
	mayName := func(rec []byte) bool { return containsAny(rec, person) }
	err = p.readRows(end, func(rec []byte) {
		if !mayName(rec) {
			return
		}
		if h, err := storage.DecodeHit(rec); err == nil {
			if c := e.ConvertedClick(&h); c != "" {
				e.ClickIDs[c] = true
			}
		}
	})
	if err != nil {
		return wal.RewriteStats{}, err
	}
	clicks := make([][]byte, 0, len(e.ClickIDs))
	for c := range e.ClickIDs {
		clicks = append(clicks, []byte(c))
	}
	st, err := p.rows.Rewrite(func(rec []byte) ([]byte, bool) {
		if !mayName(rec) && !containsAny(rec, clicks) {
			return nil, false // cheap: most rows name neither
		}
		h, err := storage.DecodeHit(rec)
		switch {
		case err != nil:
			return nil, false // unreadable: the shipper skips it too
		case e.Names(&h):
			return nil, true
		case e.OfClick(&h):
			stripped := h
			stripped.StripClick()
			out := storage.AppendHit(nil, &stripped)
			if len(out) <= len(rec) && bytes.Equal(out, rec[:len(out)]) && len(bytes.Trim(rec[len(out):], "\x00")) == 0 {
				return nil, false // stripped already
			}
			return out, false
		}
		return nil, false
	})
	if err != nil {
		return st, fmt.Errorf("cannot erase from the rows log: %w", err)
	}
	return st, nil
}

// readRows hands fn every record of the rows log before end, skipping
// damage (as the shipper does) and starting again from the oldest record
// when the shipper released segments under the reader.
func (p *Pipeline) readRows(end wal.Pos, fn func(rec []byte)) error {
	r := p.rows.NewReader(p.rows.First())
	defer func() { r.Close() }()
	for r.Pos() < end {
		rec, _, err := r.Next()
		var ce *wal.CorruptError
		switch {
		case err == nil:
			fn(rec)
		case errors.Is(err, io.EOF):
			return nil
		case errors.As(err, &ce):
			r.Close()
			r = p.rows.NewReader(ce.Resume)
		case errors.Is(err, wal.ErrReleased):
			r.Close()
			r = p.rows.NewReader(p.rows.First())
		default:
			return fmt.Errorf("cannot read the rows log: %w", err)
		}
	}
	return nil
}

func containsAny(rec []byte, needles [][]byte) bool {
	for _, n := range needles {
		if len(n) > 0 && bytes.Contains(rec, n) {
			return true
		}
	}
	return false
}
