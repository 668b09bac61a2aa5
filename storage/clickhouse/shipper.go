package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"

	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/pipeline"
	"github.com/pixelpost/pixelpost/storage/wal"
)

// ShipperConfig sizes a Shipper. Zero values take the documented defaults.
type ShipperConfig struct {
	// Cursor names the rows-log cursor holding the position after the last
	// shipped row (default "clickhouse"). No saved cursor: the oldest record.
	Cursor string
	// MaxBatch caps the rows of one INSERT (default 50000). ClickHouse
	// wants few large inserts: each makes a part that background merges
	// rewrite, and on 18.16 50k-row inserts every 5 s cost half the CPU
	// per row of 10k-row inserts every second. The batch is held in
	// memory, in the driver's column buffers, while it fills: the row's
	// strings and 16 bytes per column entry, ~0.8 KB a row measured
	// (TestShipperBatchMemoryPerRow), so ~40 MB at 50000 rows; nothing
	// while ClickHouse is down (the rows wait in the log).
	MaxBatch int
	// MaxBatchBytes caps the rows-log bytes of one INSERT's rows (default
	// 24 MiB), so that fat rows (clicks with long macros, CRM events)
	// make smaller batches: the batch's memory stays near 40 MB whatever
	// the rows, where 50000 such rows took over 100 MB, doubled while
	// the driver encodes them. Pixel rows reach MaxBatch first.
	MaxBatchBytes int64
	// MaxDelay is the longest a row waits for its batch to fill up
	// (default 5s): reports lag the hits by up to that (plus the insert).
	MaxDelay time.Duration
	// Release deletes rows-log segments once shipped. Set it only if the
	// shipper is the log's last reader; without it the log is the archive.
	Release bool
	// FlushTimeout bounds the final flush when Run's context ends
	// (default 5s); what is left stays in the log for the next start.
	FlushTimeout time.Duration
	// MaxAttempts gives up a batch after that many failed inserts, ending
	// Run with the error (default 0: retry forever, as the server must).
	MaxAttempts int
}

const (
	defaultCursor       = "clickhouse"
	defaultMaxBatch     = 50000
	defaultMaxBatchSize = 24 << 20
	defaultMaxDelay     = 5 * time.Second
	defaultFlushTimeout = 5 * time.Second
)

// ShipperDeps are a Shipper's collaborators.
type ShipperDeps struct {
	Log    *wal.Log // the rows log: storage.AppendHit records of decided hits
	Client Inserter
	Logger zerolog.Logger
	// Backoff returns the delay before retry attempt (0-based) of a failed
	// insert or read. nil: ExpBackoff(500ms, 30s).
	Backoff func(attempt int) time.Duration
	// Leave, if set, says which rows not to ship (counted in Left): an
	// import leaves out the rows of erased people.
	Leave func(h *storage.Hit) bool
	// Handoff, if set, is the applier's in-memory way of the rows it has
	// just written (pipeline.Handoff): while the shipper keeps up it takes
	// them from there instead of reading and decoding the log.
	Handoff *pipeline.Handoff
}

// ShipperStats are a Shipper's figures, for /metrics and /readyz.
type ShipperStats struct {
	Shipped    uint64 // rows inserted since start (a batch retried counts once)
	Batches    uint64 // successful inserts
	Lag        uint64 // bytes of the rows log not yet shipped
	BadRecords uint64 // records that did not decode, skipped
	Left       uint64 // rows ShipperDeps.Leave left out
	Corrupt    uint64 // damaged log regions skipped (their records are lost)
	Failures   uint64 // failed insert or read attempts
	// FromMemory and FromLog are the rows (and skipped records) taken
	// from the handoff and read from the log; rows read again after a
	// failed insert count again.
	FromMemory uint64
	FromLog    uint64
	Down       bool   // the last insert failed; rows wait in the log
	LastError  string // the last failure, kept after recovery
}

// Shipper moves decided hits from the rows log into ClickHouse: batches of
// up to MaxBatch rows or MaxDelay old, one INSERT each, then the cursor is
// saved after the batch.
//
// With a handoff (ShipperDeps.Handoff) the rows come from the applier's
// memory while the shipper keeps up: a batch is taken only when it starts
// exactly where the reader is, so nothing is missed or doubled; otherwise
// (behind, after a restart, a failed insert, skipped damage, an offer
// dropped from a full queue, an erasure) the log is read, and memory
// taken again once the reader reaches the handoff's next batch. Rows from
// memory are the records' content (pipeline.RowBatch) and meet the same
// Leave, cursor and retry rules: a retry always reads the log.
//
// Each record read is decoded once, into a chunk of columns (chunkRows rows)
// that is appended to the INSERT's columns whenever it fills: the batch is
// held once, in the driver's compact column buffers, and the INSERT holds
// no connection until it is sent (driver.WithReleaseConnection).
//
// A failed insert is retried with backoff until it succeeds: the batch is
// dropped and read again from the log, from the last shipped row (the
// same rows, and maybe more), so rows are never dropped and nothing is
// held in memory while ClickHouse is down. A batch whose outcome was
// unknown and is sent again is deduped by the table (HitsDDL). The same
// holds after a crash between insert and cursor save.
//
// Records that do not decode and damaged regions of the log
// (*wal.CorruptError) are logged, counted (once, however often they are
// read again) and skipped: the shipper never stops for them.
//
// Stats is safe for concurrent use; Run is called once.
type Shipper struct {
	cfg     ShipperConfig
	log     *wal.Log
	client  Inserter
	logger  zerolog.Logger
	backoff func(int) time.Duration
	leave   func(*storage.Hit) bool
	handoff *pipeline.Handoff // nil: the log only
	once    bool              // ImportAll: stop at the end of the log, keep no cursor

	// Owned by Run.
	r        *wal.Reader
	mem      *pipeline.RowBatch // taken from the handoff, rows from memAt on not yet added
	memAt    int
	insert   driver.Batch // the batch's INSERT, prepared by its first full chunk; nil before
	chunk    *rowChunk    // rows decoded and not yet appended to insert
	rows     int          // rows of the batch, in insert and chunk
	bytes    int64        // rows-log bytes of the batch's records (MaxBatchBytes)
	batchEnd wal.Pos      // after the last record read into (or skipped from) the batch
	deadline time.Time    // when the batch must go; zero while empty
	seen     wal.Pos      // after the furthest record ever read: what is counted
	attempts int          // failed inserts of the batch being shipped

	// hurry asks Run to send its batch now (WaitShipped): set, then
	// wake calls the cancel of the wait for MaxDelay, if Run is in it.
	hurry  atomic.Bool
	wakeMu sync.Mutex
	wake   context.CancelFunc

	acked                                          atomic.Uint64 // everything before is shipped or skipped
	shipped, batches, bad, corrupt, failures, left atomic.Uint64
	fromMemory, fromLog                            atomic.Uint64
	down                                           atomic.Bool
	lastErr                                        atomic.Pointer[string]
}

// chunkRows is the rows decoded before they are appended to the INSERT:
// enough for the driver's whole-column appends to be cheap per row, few
// enough to weigh nothing next to the batch.
const chunkRows = 1024

// NewShipper returns a Shipper starting at the saved cursor.
func NewShipper(cfg ShipperConfig, deps ShipperDeps) *Shipper {
	s := newShipper(cfg, deps, false)
	s.acked.Store(uint64(s.start()))
	return s
}

func newShipper(cfg ShipperConfig, deps ShipperDeps, once bool) *Shipper {
	if cfg.Cursor == "" {
		cfg.Cursor = defaultCursor
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = defaultMaxBatch
	}
	if cfg.MaxBatchBytes <= 0 {
		cfg.MaxBatchBytes = defaultMaxBatchSize
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = defaultMaxDelay
	}
	if cfg.FlushTimeout <= 0 {
		cfg.FlushTimeout = defaultFlushTimeout
	}
	if deps.Backoff == nil {
		deps.Backoff = ExpBackoff(minBackoff, maxBackoff)
	}
	return &Shipper{cfg: cfg, log: deps.Log, client: deps.Client, logger: deps.Logger,
		backoff: deps.Backoff, leave: deps.Leave, handoff: deps.Handoff, once: once}
}

// start is the saved cursor, or the oldest record. An unreadable cursor
// means shipping everything again: duplicates are harmless, gaps are not.
func (s *Shipper) start() wal.Pos {
	pos, err := s.log.Cursor(s.cfg.Cursor)
	switch {
	case errors.Is(err, wal.ErrNoCursor):
		return s.log.First()
	case err != nil:
		s.logger.Error().Err(err).Msg("cannot read the clickhouse cursor: shipping the rows log from its start")
		return s.log.First()
	}
	return pos
}

// Stats returns current figures.
func (s *Shipper) Stats() ShipperStats {
	st := ShipperStats{Shipped: s.shipped.Load(), Batches: s.batches.Load(),
		BadRecords: s.bad.Load(), Left: s.left.Load(), Corrupt: s.corrupt.Load(), Failures: s.failures.Load(),
		Down: s.down.Load(), FromMemory: s.fromMemory.Load(), FromLog: s.fromLog.Load()}
	if end, acked := uint64(s.log.End()), s.acked.Load(); end > acked {
		st.Lag = end - acked
	}
	if e := s.lastErr.Load(); e != nil {
		st.LastError = *e
	}
	return st
}

// shippedPoll is how often WaitShipped looks at the shipper's progress.
const shippedPoll = 20 * time.Millisecond

// WaitShipped waits until every row before pos is in ClickHouse (or was
// skipped as unreadable), or ctx ends. The batch being filled is sent
// without waiting for MaxDelay.
func (s *Shipper) WaitShipped(ctx context.Context, pos wal.Pos) error {
	t := time.NewTicker(shippedPoll)
	defer t.Stop()
	for s.acked.Load() < uint64(pos) {
		s.hurry.Store(true)
		s.wakeMu.Lock()
		if s.wake != nil {
			s.wake()
		}
		s.wakeMu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// insertError is a failed insert (or preparation of one), as fill and
// ship report it to Run, which retries.
type insertError struct{ err error }

func (e *insertError) Error() string { return e.err.Error() }
func (e *insertError) Unwrap() error { return e.err }

// Run ships rows until ctx ends, then flushes what it has within
// FlushTimeout and returns nil; rows it could not ship stay in the log for
// the next start. It returns an error only when MaxAttempts is set and a
// batch exhausted it. Close the log after Run returned.
func (s *Shipper) Run(ctx context.Context) error {
	s.batchEnd = wal.Pos(s.acked.Load())
	s.seen = s.batchEnd
	s.r = s.log.NewReader(s.batchEnd)
	defer func() { s.r.Close() }()
	s.chunk = newRowChunk(chunkRows)
	defer s.drop()
	readFails := 0
	for {
		atEnd, err := s.fill(ctx, !s.once)
		if err == nil && s.pending() {
			err = s.ship(ctx)
		}
		var ie *insertError
		switch {
		case err == nil:
			readFails = 0
		case ctx.Err() != nil || errors.Is(err, wal.ErrClosed):
			return s.stop(ctx)
		case errors.As(err, &ie):
			if err := s.retry(ctx, ie.err); err != nil {
				if ctx.Err() != nil {
					return s.stop(ctx)
				}
				return err
			}
			continue
		default:
			s.fail(err)
			s.logger.Error().Err(err).Msg("cannot read the rows log: retrying")
			if err := sleep(ctx, s.backoff(readFails)); err != nil {
				return s.stop(ctx)
			}
			readFails++
			s.reopen(s.r.Pos())
			continue
		}
		if s.once && atEnd {
			return nil
		}
	}
}

// stop ends Run after its context ended: ImportAll gives up, the server's
// shipper flushes. The batch in progress was prepared under the ended
// context: it is read again under the flush's.
func (s *Shipper) stop(ctx context.Context) error {
	if s.once {
		return ctx.Err()
	}
	s.rewind()
	fctx, cancel := context.WithTimeout(context.Background(), s.cfg.FlushTimeout)
	defer cancel()
	for {
		atEnd, err := s.fill(fctx, false)
		if err == nil && s.pending() {
			err = s.ship(fctx)
		}
		if err != nil {
			break
		}
		if atEnd {
			return nil
		}
	}
	s.logger.Warn().Uint64("lag_bytes", s.Stats().Lag).Int("batch_rows", s.rows).
		Msg("clickhouse flush at shutdown incomplete: the rest stays in the rows log for the next start")
	return nil
}

// pending reports whether the batch holds rows or skipped records whose
// position is not saved yet.
func (s *Shipper) pending() bool {
	return s.rows > 0 || uint64(s.batchEnd) > s.acked.Load()
}

// fill reads records into the batch until it is full, or (wait) the batch
// is MaxDelay old, or (!wait) the end of the log: atEnd. With wait and an
// empty batch it blocks until records arrive. It returns ctx's error or
// wal.ErrClosed to stop, an *insertError when a chunk could not be added
// to the INSERT, other errors for a reader to retry.
func (s *Shipper) fill(ctx context.Context, wait bool) (atEnd bool, err error) {
	for !s.full() {
		if s.takeMemory(ctx) {
			if err := s.addMemory(ctx); err != nil {
				return false, err
			}
			continue
		}
		rec, next, err := s.r.Next()
		if err == nil {
			if err := s.add(ctx, rec, next); err != nil {
				return false, err
			}
			continue
		}
		var ce *wal.CorruptError
		switch {
		case errors.Is(err, io.EOF):
			if pos := s.r.Pos(); pos > s.batchEnd {
				// Erased frames (an erasure's rewrite) at the end: nothing
				// to ship, but the batch, and its cursor, must pass them
				// or WaitShipped never sees the log's end.
				if err := s.advance(ctx, pos); err != nil {
					return false, err
				}
			}
			if !wait {
				return true, nil
			}
			if !s.pending() {
				if err := s.wait(ctx); err != nil {
					return false, err
				}
				continue
			}
			left := time.Until(s.deadline)
			if left <= 0 {
				return false, nil
			}
			wctx, cancel := context.WithTimeout(ctx, left)
			s.wakeMu.Lock()
			s.wake = cancel
			s.wakeMu.Unlock()
			if s.hurry.Swap(false) {
				cancel() // WaitShipped asked before the wake was set
			}
			err := s.wait(wctx)
			s.wakeMu.Lock()
			s.wake = nil
			s.wakeMu.Unlock()
			cancel()
			switch {
			case err == nil:
				continue
			case ctx.Err() != nil || errors.Is(err, wal.ErrClosed):
				return false, err
			}
			return false, nil // MaxDelay is up
		case errors.As(err, &ce):
			if err := s.skip(ce.Resume, err, "skipping a damaged region of the rows log: its rows are lost"); err != nil {
				return false, err
			}
		case errors.Is(err, wal.ErrReleased):
			if err := s.skip(s.log.First(), err, "rows-log segments were released before they were shipped: their rows are lost"); err != nil {
				return false, err
			}
		default:
			return false, fmt.Errorf("cannot read rows log: %w", err)
		}
	}
	return false, nil
}

// add decodes one record into the batch; one that does not decode is
// counted and skipped (its position still advances the batch end).
func (s *Shipper) add(ctx context.Context, rec []byte, next wal.Pos) error {
	s.fromLog.Add(1)
	h, err := storage.DecodeHit(rec)
	if err != nil {
		if next > s.seen { // not read before a retry
			s.bad.Add(1)
			// The error names the field that failed, never record content.
			s.logger.Error().Err(err).Uint64("pos", uint64(s.batchEnd)).
				Msg("skipping a rows-log record that does not decode")
		}
		return s.advance(ctx, next)
	}
	return s.addRow(ctx, &h, next)
}

// addRow adds the row of the record that ends at next to the batch,
// unless Leave says to leave it out. h is not retained (its strings and
// slices are).
func (s *Shipper) addRow(ctx context.Context, h *storage.Hit, next wal.Pos) error {
	if s.leave != nil && s.leave(h) {
		if next > s.seen {
			s.left.Add(1)
		}
	} else {
		s.chunk.add(h)
		s.rows++
	}
	return s.advance(ctx, next)
}

// full reports whether the batch has MaxBatch rows or MaxBatchBytes.
func (s *Shipper) full() bool {
	return s.rows >= s.cfg.MaxBatch || s.bytes >= s.cfg.MaxBatchBytes
}

// advance moves the batch end to next, after a record added or skipped. A
// full chunk goes to the INSERT.
func (s *Shipper) advance(ctx context.Context, next wal.Pos) error {
	s.bytes += int64(next - s.batchEnd)
	s.batchEnd = next
	s.seen = max(s.seen, next)
	if s.deadline.IsZero() {
		s.deadline = time.Now().Add(s.cfg.MaxDelay)
	}
	if s.chunk.len() >= chunkRows {
		return s.spill(ctx)
	}
	return nil
}

// offerGrace is how long the shipper waits for the handoff to bring
// records the log already holds (the applier offers them right after its
// append) before it reads them from the log.
// A descheduled applier can take a while on a loaded machine; reports lag
// by seconds anyway.
const offerGrace = 100 * time.Millisecond

// takeMemory reports whether the next records are in memory (s.mem),
// taking the handoff's batch when it starts exactly at the reader's
// position: then nothing before it was missed. Otherwise (behind, after
// a restart, a rewind or skipped damage, a dropped offer) the log is
// read, and the handoff is taken again once the reader reaches its next
// batch.
func (s *Shipper) takeMemory(ctx context.Context) bool {
	if s.mem != nil {
		return true
	}
	if s.handoff == nil {
		return false
	}
	pos := s.r.Pos()
	var grace *time.Timer
	for {
		switch s.handoff.State(pos) {
		case pipeline.Queued:
			if grace != nil {
				grace.Stop()
			}
			s.mem, s.memAt = s.handoff.Take(pos), 0
			return s.mem != nil
		case pipeline.Coming:
			if s.log.End() > pos {
				break // written, and its offer on the way
			}
			fallthrough // nothing written yet: fill waits for it
		default:
			if grace != nil {
				grace.Stop()
			}
			return false
		}
		if grace == nil {
			grace = time.NewTimer(offerGrace)
		}
		select {
		case <-s.handoff.Ready():
		case <-grace.C:
			return false
		case <-ctx.Done():
			grace.Stop()
			return false
		}
	}
}

// addMemory adds the rows of s.mem to the batch, up to MaxBatch; once
// they are all added the reader moves past them.
func (s *Shipper) addMemory(ctx context.Context) error {
	b := s.mem
	from := s.memAt
	defer func() { s.fromMemory.Add(uint64(s.memAt - from)) }()
	for s.memAt < len(b.Rows) && !s.full() {
		i := s.memAt
		s.memAt++
		if err := s.addRow(ctx, &b.Rows[i], b.Ends[i]); err != nil {
			return err
		}
	}
	if s.memAt == len(b.Rows) {
		end := b.End()
		s.handoff.Done(b)
		s.mem = nil
		s.reopen(end)
	}
	return nil
}

// wait blocks until a record after the reader's position may be read,
// from the log or from the handoff when the next one comes that way.
func (s *Shipper) wait(ctx context.Context) error {
	pos := s.r.Pos()
	if s.handoff == nil || s.handoff.State(pos) != pipeline.Coming {
		return s.log.Wait(ctx, pos)
	}
	// Every append is offered: the handoff's signal is the log's. Look at
	// the log now and then all the same, should an offer never come.
	t := time.NewTicker(offerGrace)
	defer t.Stop()
	for {
		select {
		case <-s.handoff.Ready():
			if s.handoff.State(pos) != pipeline.Coming {
				return nil
			}
		case <-t.C:
			if s.log.End() > pos {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// spill appends the chunk to the batch's INSERT, preparing it first.
func (s *Shipper) spill(ctx context.Context) error {
	if s.chunk.len() == 0 {
		return nil
	}
	if s.insert == nil {
		b, err := s.client.newInsert(ctx)
		if err != nil {
			return &insertError{err}
		}
		s.insert = b
	}
	if err := appendChunk(s.insert, s.chunk); err != nil {
		return &insertError{err}
	}
	s.chunk.reset()
	return nil
}

// skip moves the reader past damage to to, which must be ahead.
func (s *Shipper) skip(to wal.Pos, cause error, msg string) error {
	from := s.r.Pos()
	if to <= from {
		return fmt.Errorf("cannot skip damage in the rows log at %d: %w", from, cause)
	}
	if to > s.seen {
		s.corrupt.Add(1)
		s.logger.Error().Err(cause).Uint64("from", uint64(from)).Uint64("to", uint64(to)).Msg(msg)
		s.seen = to
	}
	s.reopen(to)
	s.batchEnd = to
	if s.deadline.IsZero() {
		s.deadline = time.Now().Add(s.cfg.MaxDelay)
	}
	return nil
}

func (s *Shipper) reopen(at wal.Pos) {
	s.r.Close()
	s.r = s.log.NewReader(at)
}

// ship sends the batch, then saves the cursor after it and releases what
// is shipped. A failed insert is an *insertError.
func (s *Shipper) ship(ctx context.Context) error {
	if n := s.rows; n > 0 {
		if err := s.spill(ctx); err != nil {
			return err
		}
		err := s.insert.Send()
		s.insert = nil // sent or failed: done with either way
		if err != nil {
			return &insertError{err}
		}
		s.shipped.Add(uint64(n))
		s.batches.Add(1)
		if s.down.Swap(false) {
			s.logger.Info().Int("attempts", s.attempts+1).Msg("clickhouse accepts rows again")
		}
	}
	s.attempts = 0
	s.hurry.Store(false) // a WaitShipped still waiting asks again
	s.rows, s.bytes = 0, 0
	s.deadline = time.Time{}
	end := s.batchEnd
	s.acked.Store(uint64(end))
	if s.once {
		return nil
	}
	// The rows are in ClickHouse: a failed save only means they may be
	// sent again after a restart, which the table dedupes.
	if err := s.log.SaveCursor(s.cfg.Cursor, end); err != nil {
		s.logger.Warn().Err(err).Msg("cannot save the clickhouse cursor")
		return nil
	}
	if s.cfg.Release {
		if err := s.log.Release(end); err != nil {
			s.logger.Warn().Err(err).Msg("cannot release shipped rows-log segments")
		}
	}
	return nil
}

// retry follows a failed insert: it is counted, the batch is dropped, and
// after the backoff the reader goes back to the last shipped row. It
// returns the error when MaxAttempts is reached, ctx's when it ends first.
func (s *Shipper) retry(ctx context.Context, cause error) error {
	err := fmt.Errorf("cannot ship batch of %d rows: %w", s.rows, cause)
	s.rewind()
	s.fail(err)
	s.down.Store(true)
	s.attempts++
	if s.cfg.MaxAttempts > 0 && s.attempts >= s.cfg.MaxAttempts {
		return err
	}
	d := s.backoff(s.attempts - 1)
	s.logger.Warn().Err(err).Int("attempt", s.attempts).Dur("retry_in", d).Msg("clickhouse insert failed")
	return sleep(ctx, d)
}

// rewind drops the batch and moves the reader back to the last shipped
// row: the next batch reads the same rows again.
func (s *Shipper) rewind() {
	s.drop()
	s.batchEnd = wal.Pos(s.acked.Load())
	s.deadline = time.Time{}
	s.reopen(s.batchEnd)
}

// drop forgets the rows of the batch, and those taken from the handoff
// that are not in it yet (the log has them).
func (s *Shipper) drop() {
	if s.mem != nil {
		s.handoff.Done(s.mem)
		s.mem = nil
	}
	if s.insert != nil {
		s.insert.Abort()
		s.insert = nil
	}
	s.chunk.reset()
	s.rows, s.bytes = 0, 0
}

func (s *Shipper) fail(err error) {
	s.failures.Add(1)
	msg := err.Error()
	s.lastErr.Store(&msg)
}

// ImportAll ships every row of deps.Log, from its oldest record to its
// current end, in batches of batch rows (0: 50000), and returns the
// figures (Shipped: rows inserted). It keeps no cursor and is safe to run
// again: the reports dedupe by hit id. A batch failing 5 times ends it
// with the error. For pixelpost import-wal.
func ImportAll(ctx context.Context, deps ShipperDeps, batch int) (ShipperStats, error) {
	s := newShipper(ShipperConfig{MaxBatch: batch, MaxAttempts: 5}, deps, true)
	s.acked.Store(uint64(deps.Log.First()))
	err := s.Run(ctx)
	if err != nil {
		err = fmt.Errorf("cannot import rows log: %w", err)
	}
	return s.Stats(), err
}
