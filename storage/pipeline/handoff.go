package pipeline

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/wal"
)

// DefaultHandoffRows bounds the rows a Handoff holds: about 1 KB each
// (the Hit and its strings), so ~8 MB; at 5,000 hits/s that covers a
// ClickHouse insert of over a second before the shipper falls back to
// the rows log.
const DefaultHandoffRows = 8192

// RowBatch is the rows of one rows-log append, as the applier had them in
// memory: Rows[i] is the record (storage.Hit.Archived, exactly what the
// record decodes to) that ends at Ends[i]; the first starts at Start.
// The batch owns Rows: the applier never touches them again. Give it
// back with Handoff.Done once its rows are copied out.
type RowBatch struct {
	Start wal.Pos
	Ends  []wal.Pos
	Rows  []storage.Hit
	epoch uint64
}

// End is the position after the batch's last record.
func (b *RowBatch) End() wal.Pos { return b.Ends[len(b.Ends)-1] }

// HandoffState says where the record at a position will come from.
type HandoffState int

const (
	// FromLog: the handoff does not have it and will not (written before
	// the applier started, dropped from a full queue, made stale by an
	// erasure, or the reader is past it): read the rows log.
	FromLog HandoffState = iota
	// Queued: Take returns the batch that starts there.
	Queued
	// Coming: the applier's next offer starts there. Wait on Ready; if the
	// log already holds the record and no offer comes shortly, read it.
	Coming
)

// Handoff passes the rows the applier has just written to the rows log
// to one shipper in memory, so that a shipper keeping up neither reads
// nor decodes the log. It is bounded (a full queue drops the offer: the
// shipper then reads those rows from the log) and never blocks the
// applier. A batch is of use only to a reader exactly at its Start:
// positions say whether anything was missed, so nothing is lost or
// doubled whichever source a row comes from.
//
// Safe for concurrent use by the applier, one consumer and EraseRows.
type Handoff struct {
	mu      sync.Mutex
	queue   []*RowBatch
	rows    int // rows queued
	max     int
	since   wal.Pos // every record appended from there on is offered
	offered wal.Pos // after the last batch offered, queued or dropped
	epoch   atomic.Uint64
	ready   chan struct{}
	pool    sync.Pool
	dropped atomic.Uint64 // rows offered but not queued
}

func newHandoff(maxRows int) *Handoff {
	h := &Handoff{max: maxRows, since: math.MaxUint64, ready: make(chan struct{}, 1)}
	h.pool.New = func() any { return new(RowBatch) }
	return h
}

// Ready is signalled after each offer (and erasure): look at State again.
func (h *Handoff) Ready() <-chan struct{} { return h.ready }

// Dropped is the number of rows offered while the queue was full (or made
// stale by an erasure): the shipper read those from the log.
func (h *Handoff) Dropped() uint64 { return h.dropped.Load() }

// State says where the record at pos will come from.
func (h *Handoff) State(pos wal.Pos) HandoffState {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.state(pos)
}

func (h *Handoff) state(pos wal.Pos) HandoffState {
	h.discardBefore(pos)
	switch {
	case len(h.queue) > 0 && h.queue[0].Start == pos:
		return Queued
	case len(h.queue) == 0 && pos >= h.since && pos == h.offered:
		return Coming
	}
	return FromLog
}

// Take removes and returns the batch that starts at pos, or nil.
func (h *Handoff) Take(pos wal.Pos) *RowBatch {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state(pos) != Queued {
		return nil
	}
	b := h.queue[0]
	h.queue[0] = nil
	h.queue = h.queue[1:]
	h.rows -= len(b.Rows)
	return b
}

// discardBefore drops the queued batches a reader at pos is past or
// inside of (it read part of one from the log).
func (h *Handoff) discardBefore(pos wal.Pos) {
	for len(h.queue) > 0 && h.queue[0].Start < pos {
		b := h.queue[0]
		h.queue[0] = nil
		h.queue = h.queue[1:]
		h.rows -= len(b.Rows)
		h.recycle(b)
	}
}

// Done gives a taken batch back for reuse; its rows must not be used
// after (their strings may be: they are immutable).
func (h *Handoff) Done(b *RowBatch) {
	h.recycle(b)
}

func (h *Handoff) recycle(b *RowBatch) {
	clear(b.Rows) // drop the references to the rows' strings
	b.Rows, b.Ends = b.Rows[:0], b.Ends[:0]
	h.pool.Put(b)
}

// start tells that every record appended from pos on will be offered: the
// applier calls it before its first append.
func (h *Handoff) start(pos wal.Pos) {
	h.mu.Lock()
	h.since, h.offered = pos, pos
	h.mu.Unlock()
}

// batch returns an empty batch, tagged with the current erasure epoch:
// take it before the append whose rows it will carry, so that an erasure
// rewriting the log meanwhile makes it stale.
func (h *Handoff) batch() *RowBatch {
	b := h.pool.Get().(*RowBatch)
	b.epoch = h.epoch.Load()
	return b
}

// setPositions sets where the records of recs, appended together in one
// call that returned end, lie: one after the other, up to end.
func (b *RowBatch) setPositions(end wal.Pos, recs [][]byte) {
	b.Ends = b.Ends[:0]
	pos := end
	for i := len(recs) - 1; i >= 0; i-- {
		b.Ends = append(b.Ends, pos)
		pos -= wal.RecordSpan(len(recs[i]))
	}
	slices.Reverse(b.Ends)
	b.Start = pos
}

// offer queues b, whose records were just appended, unless the queue is
// full or an erasure began since b was taken: then it is dropped, and the
// shipper reads those rows from the log. It never blocks.
func (h *Handoff) offer(b *RowBatch) {
	h.mu.Lock()
	h.offered = b.End()
	if b.epoch != h.epoch.Load() || h.rows+len(b.Rows) > h.max {
		h.dropped.Add(uint64(len(b.Rows)))
		h.recycle(b)
	} else {
		h.queue = append(h.queue, b)
		h.rows += len(b.Rows)
	}
	h.mu.Unlock()
	h.signal()
}

// invalidate drops every queued batch and makes those being built stale.
// An erasure calls it before it rewrites the rows log and again after:
// a row must never be shipped from memory as it was before the rewrite
// once the log no longer holds it so. A batch taken meanwhile is no
// different from a record a reader read just before the rewrite (the
// erasure deletes such rows in ClickHouse after WaitShipped).
func (h *Handoff) invalidate() {
	h.mu.Lock()
	h.epoch.Add(1)
	for _, b := range h.queue {
		h.dropped.Add(uint64(len(b.Rows)))
		h.recycle(b)
	}
	clear(h.queue)
	h.queue, h.rows = h.queue[:0], 0
	h.mu.Unlock()
	h.signal()
}

func (h *Handoff) signal() {
	select {
	case h.ready <- struct{}{}:
	default:
	}
}
