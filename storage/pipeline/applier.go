package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/wal"
)

// Backoff bounds while the ledger or the rows log refuses work.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// maxRowsAppend keeps one rows-log append under the wal's 4 MiB limit.
const maxRowsAppend = 2 << 20

// The applier saves its cursors at most every cursorEvery under load, and
// once it caught up and no hit came for cursorIdle.
const (
	cursorEvery = 100 * time.Millisecond
	cursorIdle  = 20 * time.Millisecond
)

// The applier gathers hits for up to gatherFor when fewer than gatherBytes
// (about a hundred hits) are waiting.
const (
	gatherFor   = 2 * time.Millisecond
	gatherBytes = 32 << 10
)

// Run applies hits to the ledger until ctx ends, then drains: it applies
// every hit recorded so far and returns, or returns at drainTimeout with the
// rest left in the hits log for the next start. Call it once.
//
// Crash recovery: the hits after the saved cursor are read again. Those
// whose rows reached the rows log (their ids are in its tail, after the
// cursorRows mark) are skipped; the others are applied again, and the
// ledger answers a replayed duplicate for any it had applied (it knows
// them by their place in this log, storage.Op.Log and Pos), with the
// original result it keeps until the saved cursor passes them
// (storage.Op.Kept), which the row records.
func (p *Pipeline) Run(ctx context.Context, drainTimeout time.Duration) error {
	from, err := cursor(p.hits, cursorLedger)
	if err != nil {
		return err
	}
	done, err := p.writtenSinceMark()
	if err != nil {
		return err
	}
	p.advance(from)
	if p.handoff != nil {
		p.handoff.start(p.rows.End()) // the applier is the rows log's only writer
	}
	a := applier{p: p, r: p.hits.NewReader(from), skip: done, next: from}
	defer func() {
		if a.next > from {
			if err := a.saveCursors(); err != nil {
				p.log.Warn().Err(err).Msg("cannot save cursors at stop")
			}
		}
		a.r.Close()
	}()

	for {
		if a.next > a.savedPos && a.r.Pos() == p.hits.End() {
			// Caught up: save the cursors once no hit came for a moment.
			wctx, cancel := context.WithTimeout(ctx, cursorIdle)
			err := p.hits.Wait(wctx, a.r.Pos())
			cancel()
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				if err := a.saveCursors(); err != nil {
					return err
				}
			}
		}
		err := p.hits.Wait(ctx, a.r.Pos())
		if err != nil {
			break // ctx ended (or the log closed): drain below
		}
		if p.hits.End()-a.r.Pos() < gatherBytes {
			// A few hits: let more join, so that one ledger call carries
			// many (a call's fixed cost dominates a small batch). Nobody
			// waits for the answer of a pixel on this; postbacks and leads
			// wait a millisecond or two more.
			if sleep(ctx, gatherFor) != nil {
				break
			}
		}
		if err := a.step(ctx); err != nil {
			if ctx.Err() != nil {
				break
			}
			return err
		}
	}
	// Drain what was recorded before the server stopped answering: hits
	// answered once written too, readable once synced (within 5 ms).
	dctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	for a.r.Pos() < p.hits.Written() {
		err := p.hits.Wait(dctx, a.r.Pos())
		if err == nil {
			err = a.step(dctx)
		}
		if err != nil {
			if dctx.Err() != nil {
				p.log.Warn().Uint64("left_bytes", uint64(p.hits.End()-a.r.Pos())).
					Msg("ledger drain timed out: the rest stays in the hits log for the next start")
				return nil
			}
			return err
		}
	}
	return nil
}

type applier struct {
	p    *Pipeline
	r    *wal.Reader
	skip map[string]bool // hit ids whose rows were written before a crash

	next     wal.Pos   // hits-log position after the last batch done
	saved    time.Time // when the cursors were last saved
	savedPos wal.Pos   // the ledger cursor then

	hits []storage.Hit
	ops  []storage.Op
	idx  []int // hits index of each op
	recs [][]byte
	buf  []byte
	mem  *RowBatch // the rows of recs, for the handoff (nil without one)
}

// step processes one batch of up to MaxBatch hits: ledger, rows, cursor.
// When it fails the reader is put back at the batch's start, so a later
// step (the drain, or the next start) takes the same hits again.
func (a *applier) step(ctx context.Context) error {
	start := a.r.Pos()
	err := a.batch(ctx)
	if err != nil {
		a.r.Close()
		a.r = a.p.hits.NewReader(start)
	}
	return err
}

func (a *applier) batch(ctx context.Context) error {
	p := a.p
	a.hits, a.ops, a.idx = a.hits[:0], a.ops[:0], a.idx[:0]
	next := a.r.Pos()
	for len(a.hits) < p.cfg.MaxBatch {
		rec, pos, err := a.r.Next()
		if err == io.EOF {
			break
		}
		var ce *wal.CorruptError
		if errors.As(err, &ce) {
			p.badRecords.Add(1)
			p.log.Error().Err(err).Msg("hits log damaged: skipping to the next good record")
			a.r.Close()
			a.r = p.hits.NewReader(ce.Resume)
			next = ce.Resume
			continue
		}
		if err != nil {
			return fmt.Errorf("cannot read hits log: %w", err)
		}
		next = pos
		h, err := storage.DecodeHit(rec)
		if err != nil {
			p.badRecords.Add(1)
			p.log.Error().Err(err).Msg("skipping an undecodable hits-log record")
			continue
		}
		if a.skip[h.ID] {
			continue
		}
		h.Log, h.Pos = p.logID.ID, uint64(pos)
		a.hits = append(a.hits, h)
	}
	if err := a.resolveDeferred(ctx); err != nil {
		return err
	}
	for i := range a.hits {
		if h := &a.hits[i]; h.Pending() {
			op := h.Op()
			// The ledger may drop the results it keeps for replays of
			// what the saved cursor passed; hits recorded before the log
			// had an id may have been applied by an earlier build.
			op.Kept, op.CheckHitID = uint64(a.savedPos), wal.Pos(h.Pos) <= p.logID.Since
			a.ops = append(a.ops, op)
			a.idx = append(a.idx, i)
		}
	}
	if len(a.ops) > 0 {
		results, err := a.apply(ctx)
		if err != nil {
			return err
		}
		for j, res := range results {
			if res.Reason == storage.ReasonReplayedHit && res.Original != nil {
				// Applied before a crash, its result lost with the process:
				// the ledger remembered it.
				res = *res.Original
			}
			a.hits[a.idx[j]].Decided(res)
		}
	}
	if err := a.writeRows(ctx); err != nil {
		return err
	}
	a.next = next
	// A full hits log refuses hits until the applier releases what it is
	// done with: then every batch saves its cursor (and releases).
	if time.Since(a.saved) >= cursorEvery || p.hits.Stats().Full {
		if err := a.saveCursors(); err != nil {
			return err
		}
	}
	p.applied.Add(uint64(len(a.ops)))
	if p.onDone != nil && len(a.hits) > 0 {
		p.onDone(a.hits)
	}
	a.notify()
	p.advance(next)
	if p.hits.End()-next <= gatherBytes {
		p.draining.Store(false) // caught up, to within one small batch
	}
	clear(a.hits) // drop references to decoded strings
	return nil
}

// resolveDeferred has the server decide the batch's deferred hits, in
// order, backing off while what they need still cannot be read (as apply
// does). It gives up only when ctx ends.
func (a *applier) resolveDeferred(ctx context.Context) error {
	p := a.p
	for i := range a.hits {
		h := &a.hits[i]
		if h.Deferred == nil {
			continue
		}
		if !h.Pending() {
			h.Deferred = nil // decided when answered: nothing to resolve
			continue
		}
		// A hit the server cannot decide for another reason than the
		// ledger's absence (a bug) gets a row saying so rather than
		// blocking every hit after it.
		if p.resolve == nil {
			h.Status, h.Reason, h.Deferred = storage.StatusRejected, storage.ReasonInternal, nil
			p.log.Error().Str("hit", h.ID).Msg("a deferred hit and no resolver: rejected")
			continue
		}
		wait := minBackoff
		for {
			d := *h
			err := p.resolve(ctx, &d)
			if err == nil {
				d.Deferred = nil
				*h = d
				break
			}
			if !errors.Is(err, storage.ErrUnavailable) {
				h.Status, h.Reason, h.Deferred = storage.StatusRejected, storage.ReasonInternal, nil
				p.log.Error().Err(err).Str("hit", h.ID).Msg("cannot decide a deferred hit: rejected")
				break
			}
			p.down(err)
			if err := sleep(ctx, wait); err != nil {
				return err
			}
			wait = nextBackoff(wait)
		}
	}
	return nil
}

// down records that the ledger could not be reached: hits wait on disk.
func (p *Pipeline) down(err error) {
	msg := err.Error()
	p.lastErr.Store(&msg)
	p.draining.Store(true)
	if !p.ledgerDown.Swap(true) {
		p.log.Error().Err(err).Msg("ledger unavailable: hits are queued in the hits log")
	}
}

// apply calls the ledger until it answers, backing off while it cannot be
// reached. It gives up only when ctx ends.
func (a *applier) apply(ctx context.Context) ([]storage.Result, error) {
	p := a.p
	wait := minBackoff
	for {
		results, err := p.ledger.Apply(ctx, a.ops)
		if err == nil {
			if p.ledgerDown.Swap(false) {
				p.log.Info().Msg("ledger reachable again: applying queued hits")
			}
			return results, nil
		}
		p.down(err)
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
		wait = nextBackoff(wait)
	}
}

// writeRows appends every hit of the batch, decided, to the rows log,
// waiting while the log is full (its shipper frees space), and offers the
// rows of each append to the handoff.
func (a *applier) writeRows(ctx context.Context) error {
	p := a.p
	a.recs, a.buf = a.recs[:0], a.buf[:0]
	newBatch := func() {
		if p.handoff != nil {
			a.mem = p.handoff.batch()
		}
	}
	flush := func() error {
		wait := minBackoff
		for {
			if a.mem != nil {
				// Tagged before the append: an erasure that starts after
				// this makes the rows stale (Handoff.invalidate).
				a.mem.epoch = p.handoff.epoch.Load()
			}
			end, err := p.rows.Append(a.recs...)
			if err == nil {
				if a.mem != nil {
					a.mem.setPositions(end, a.recs)
					p.handoff.offer(a.mem)
					a.mem = nil
				}
				a.recs, a.buf = a.recs[:0], a.buf[:0]
				return nil
			}
			if !errors.Is(err, wal.ErrFull) {
				return fmt.Errorf("cannot write rows: %w", err)
			}
			msg := err.Error()
			p.lastErr.Store(&msg)
			if err := sleep(ctx, wait); err != nil {
				return err
			}
			wait = nextBackoff(wait)
		}
	}
	newBatch()
	for i := range a.hits {
		start := len(a.buf)
		row := a.hits[i].Archived() // the rows log never holds plaintext personal data
		a.buf = storage.AppendHit(a.buf, &row)
		if len(a.buf) > maxRowsAppend && len(a.recs) > 0 {
			// Records alias a.buf: write those before it grows further.
			tail := append([]byte(nil), a.buf[start:]...)
			a.buf = a.buf[:start]
			if err := flush(); err != nil {
				return err
			}
			newBatch()
			a.buf = append(a.buf, tail...)
			start = 0
		}
		a.recs = append(a.recs, a.buf[start:len(a.buf):len(a.buf)])
		if a.mem != nil {
			a.mem.Rows = append(a.mem.Rows, row)
		}
	}
	if len(a.recs) == 0 {
		a.mem = nil
		return nil
	}
	return flush()
}

// saveCursors records how far the applier got (the hits after the ledger
// cursor are read again after a crash; the rows mark says which of them
// already have rows) and releases the hits log up to there.
//
// They are saved at most every cursorEvery, or when the applier caught up
// and is idle: each save is several fsyncs, and a cursor that lags only means more hits are
// read again after a crash, all of them recognised (rows mark, hit ids).
func (a *applier) saveCursors() error {
	p := a.p
	// Rows are written without fsync; they must be durable before the
	// cursor moves past their hits, which a crash would otherwise lose.
	if err := p.rows.Sync(); err != nil {
		return fmt.Errorf("cannot sync rows: %w", err)
	}
	if err := p.hits.SaveCursor(cursorLedger, a.next); err != nil {
		return fmt.Errorf("cannot save ledger cursor: %w", err)
	}
	if err := p.rows.SaveCursor(cursorRows, p.rows.End()); err != nil {
		return fmt.Errorf("cannot save rows mark: %w", err)
	}
	a.saved, a.savedPos = time.Now(), a.next
	if err := p.hits.Release(a.next); err != nil {
		p.log.Warn().Err(err).Msg("cannot release applied hits")
	}
	return nil
}

// notify hands results to RecordAndWait callers.
func (a *applier) notify() {
	p := a.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.waiters) == 0 {
		return
	}
	for i := range a.hits { // also hits decided without the ledger (a deferred hit refused)
		h := &a.hits[i]
		if ch, ok := p.waiters[h.ID]; ok {
			ch <- storage.Result{Status: h.Status, Reason: h.Reason, Delta: h.Delta,
				Credited: h.Credited, AttendeeID: h.AttendeeID}
			delete(p.waiters, h.ID)
		}
	}
}

// writtenSinceMark returns the ids of hits written to the rows log after
// the mark saved with the ledger cursor: after a crash between the two,
// their hits are read again but must not be written twice.
func (p *Pipeline) writtenSinceMark() (map[string]bool, error) {
	from, err := cursor(p.rows, cursorRows)
	if err != nil {
		return nil, err
	}
	done := make(map[string]bool)
	r := p.rows.NewReader(from)
	defer r.Close()
	for {
		rec, _, err := r.Next()
		if err == io.EOF {
			return done, nil
		}
		if err != nil {
			// Damage in the tail: what could be read is enough to skip; the
			// rest is applied again (idempotent).
			p.log.Warn().Err(err).Msg("cannot read the rows log tail")
			return done, nil
		}
		if h, err := storage.DecodeHit(rec); err == nil {
			done[h.ID] = true
		}
	}
}

// cursor returns a saved cursor, or the start of the log.
func cursor(l *wal.Log, name string) (wal.Pos, error) {
	pos, err := l.Cursor(name)
	if errors.Is(err, wal.ErrNoCursor) {
		return l.First(), nil
	}
	if err != nil {
		return 0, fmt.Errorf("cannot read cursor %s: %w", name, err)
	}
	if pos < l.First() {
		pos = l.First()
	}
	return pos, nil
}

func nextBackoff(d time.Duration) time.Duration {
	d *= 2
	if d > maxBackoff {
		d = maxBackoff
	}
	// ±20 % jitter so that nodes do not retry in step.
	return d - d/5 + time.Duration(rand.Int64N(int64(2*d/5)+1))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
