package hitindex

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/rs/zerolog"

	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/wal"
)

// Follow batches: a transaction takes up to followBatch rows (about 1 MB),
// or what the rows log has once the follower caught up.
const (
	followBatch = 4096
	minBackoff  = 100 * time.Millisecond
	maxBackoff  = 5 * time.Second
)

// FollowDeps are what Follow reads and tells.
type FollowDeps struct {
	Log *wal.Log // the rows log
	// Leave, if set, says which rows not to index: those of people erased
	// after the row was decided (an index rebuilt from the archive must
	// not bring them back). It may block while it cannot tell.
	Leave  func(h *storage.Hit) bool
	Logger zerolog.Logger
}

// Follow indexes the rows log from the saved position until ctx ends, then
// returns nil: each batch of rows is indexed with its position (Add), so
// after a stop or a crash it resumes where the index is. It never
// releases the rows log (the archive on the embedded default).
//
// A position the log no longer has (released segments) or does not have
// yet (a log cut after a crash) makes it index the log again from its
// oldest record: rows are indexed by hit id, so rows read twice count once.
// Damaged regions and records that do not decode are logged and skipped,
// as the ClickHouse shipper does.
func (x *Index) Follow(ctx context.Context, deps FollowDeps) error {
	log, logger := deps.Log, deps.Logger
	r := log.NewReader(x.Align(log, logger))
	defer func() { r.Close() }()
	batch := make([]storage.Hit, 0, followBatch)
	wait := minBackoff
	for {
		batch = batch[:0]
		end, err := x.fill(ctx, &r, log, &batch, deps, logger)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, wal.ErrClosed) {
				return nil
			}
			logger.Error().Err(err).Msg("hit index: cannot read the rows log: retrying")
			if sleep(ctx, wait) != nil {
				return nil
			}
			wait = min(2*wait, maxBackoff)
			r.Close()
			r = log.NewReader(x.Pos())
			continue
		}
		if end == x.Pos() {
			continue
		}
		for {
			err := x.Add(batch, end)
			if err == nil {
				wait = minBackoff
				break
			}
			logger.Error().Err(err).Msg("hit index: cannot write: retrying")
			if sleep(ctx, wait) != nil {
				return nil
			}
			wait = min(2*wait, maxBackoff)
		}
		clear(batch) // drop the strings for the collector
	}
}

// Align makes the index's position one the rows log has and returns it:
// a position before the log's first record (released segments) or after
// its end (a log cut after a crash, or replaced) becomes the log's start,
// to be indexed again. Call it before WaitIndexed is relied on (Follow
// calls it too).
func (x *Index) Align(log *wal.Log, logger zerolog.Logger) wal.Pos {
	start := x.Pos()
	if start >= log.First() && start <= log.End() {
		return start
	}
	if start != 0 {
		logger.Warn().Uint64("pos", uint64(start)).Uint64("first", uint64(log.First())).Uint64("end", uint64(log.End())).
			Msg("hit index: its position is not in the rows log: indexing the log again from its start")
	}
	x.setPos(log.First()) // what the index holds for sure: WaitIndexed waits for the rest
	return log.First()
}

// fill reads rows into batch until it is full or the log has no more
// (then, with an empty batch, it waits for more). It returns the position
// after the last record read or skipped.
func (x *Index) fill(ctx context.Context, rp **wal.Reader, log *wal.Log, batch *[]storage.Hit, deps FollowDeps, logger zerolog.Logger) (wal.Pos, error) {
	r := *rp
	end := r.Pos()
	for len(*batch) < followBatch {
		rec, next, err := r.Next()
		var ce *wal.CorruptError
		switch {
		case err == nil:
			h, derr := storage.DecodeHit(rec)
			switch {
			case derr != nil:
				x.bad.Add(1)
				logger.Error().Err(derr).Uint64("pos", uint64(end)).Msg("hit index: skipping a rows-log record that does not decode")
			case deps.Leave == nil || !deps.Leave(&h):
				*batch = append(*batch, h)
			}
			end = next
		case errors.Is(err, io.EOF):
			if len(*batch) > 0 || end > x.Pos() {
				return end, nil
			}
			if err := log.Wait(ctx, r.Pos()); err != nil {
				return end, err
			}
		case errors.As(err, &ce):
			logger.Error().Err(err).Msg("hit index: skipping a damaged region of the rows log: its rows are not reported")
			r.Close()
			r = log.NewReader(ce.Resume)
			*rp, end = r, ce.Resume
		case errors.Is(err, wal.ErrReleased):
			logger.Error().Err(err).Msg("hit index: rows-log segments were released before they were indexed: their rows are not reported")
			r.Close()
			r = log.NewReader(log.First())
			*rp, end = r, log.First()
		default:
			return end, fmt.Errorf("cannot read rows log: %w", err)
		}
	}
	return end, nil
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
