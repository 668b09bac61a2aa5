package wal

import (
	"fmt"
	"time"
)

// batch is one group commit: the frames of the Appends that share a write
// and an fsync.
type batch struct {
	buf    []byte
	splits []int // offsets in buf where a new segment starts
	n      int   // records
	calls  int   // Append calls
	end    Pos   // position after the last record
	busy   bool  // its first record came while the previous batch was being flushed
	done   chan struct{}
	err    error // set before done is closed
}

// Append writes recs as consecutive records and returns once they are
// durable, with the position after the last one. The records of one call
// are stored together or not at all. Append does not keep recs.
//
// Errors: ErrTooLarge (a record over MaxRecordSize, or more than 4 MiB in
// one call), ErrFull (the log would exceed MaxBytes; nothing written),
// ErrClosed, or a wrapped I/O error, after which the Log refuses every
// Append (the page cache cannot be trusted after a failed fsync): close it
// and reopen to recover.
func (l *Log) Append(recs ...[]byte) (Pos, error) {
	var size int64
	for _, r := range recs {
		if len(r) > MaxRecordSize {
			return 0, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(r), MaxRecordSize)
		}
		size += frameHeaderSize + int64(len(r))
	}
	if len(recs) == 0 {
		return l.End(), nil
	}
	if size > maxBatchBytes {
		return 0, fmt.Errorf("%w: %d bytes in one append, limit %d", ErrTooLarge, size, maxBatchBytes)
	}

	l.mu.Lock()
	for {
		if l.closing {
			l.mu.Unlock()
			return 0, ErrClosed
		}
		if l.failed != nil {
			err := l.failed
			l.mu.Unlock()
			return 0, fmt.Errorf("wal failed earlier: %w", err)
		}
		if len(l.cur.buf) == 0 || int64(len(l.cur.buf))+size <= maxBatchBytes {
			break
		}
		l.space.Wait()
	}

	// Records never straddle segments: a record that does not fit in the
	// current segment starts a new one (unless the segment is empty).
	segData := l.opts.SegmentBytes - segHeaderSize
	need, fill := size, l.segFill
	for _, r := range recs {
		fs := frameHeaderSize + int64(len(r))
		if fill > 0 && fill+fs > segData {
			need += segHeaderSize
			fill = 0
		}
		fill += fs
	}
	if l.reserved+need > l.opts.MaxBytes {
		l.full.Store(true)
		l.mu.Unlock()
		return 0, fmt.Errorf("%w: %d of %d bytes used", ErrFull, l.reserved, l.opts.MaxBytes)
	}
	l.full.Store(false)
	l.reserved += need

	b := l.cur
	if b.n == 0 {
		b.busy = l.flushing
	}
	before := b.n
	for _, r := range recs {
		fs := frameHeaderSize + int64(len(r))
		if l.segFill > 0 && l.segFill+fs > segData {
			b.splits = append(b.splits, len(b.buf))
			l.segFill = 0
		}
		b.buf = appendFrame(b.buf, r)
		l.segFill += fs
		l.tail += Pos(fs)
	}
	b.n += len(recs)
	b.calls++
	b.end = l.tail
	end := l.tail
	// Kick the flusher for the first record, and when a lingering batch
	// reaches its target.
	wake := before == 0 || (before < l.prevN && b.n >= l.prevN)
	l.mu.Unlock()
	if wake {
		l.wake()
	}

	<-b.done
	if b.err != nil {
		return 0, b.err
	}
	return end, nil
}

// empty reports whether a batch has nothing for the flusher: no record
// and no rollover (Rotate asks for one without a record).
func (b *batch) empty() bool { return b.n == 0 && len(b.splits) == 0 }

// Rotate seals the active segment and starts a new one at the end of the
// log, so that every record appended before the call lies in sealed
// segments, which Release can delete (the active segment it never does).
// It returns once that is durable, with the position where the new
// segment starts: Release(pos) deletes everything appended before Rotate.
// A log whose active segment holds no record is not rotated. For erasing
// records before their segment fills (a person's data in a log of hits).
func (l *Log) Rotate() (Pos, error) {
	l.mu.Lock()
	switch {
	case l.closing:
		l.mu.Unlock()
		return 0, ErrClosed
	case l.failed != nil:
		err := l.failed
		l.mu.Unlock()
		return 0, fmt.Errorf("wal failed earlier: %w", err)
	}
	pos, b := l.tail, l.cur
	if l.segFill > 0 {
		// As Append does for a record that does not fit: the flusher rolls
		// over at this point of the batch.
		b.splits = append(b.splits, len(b.buf))
		l.segFill = 0
		l.reserved += segHeaderSize
		b.end = l.tail
	}
	pending := !b.empty()
	l.mu.Unlock()
	if !pending {
		return pos, nil // the records before pos are durable already
	}
	l.wake()
	<-b.done
	if b.err != nil {
		return 0, b.err
	}
	return pos, nil
}

func (l *Log) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// flushLoop is the flusher: it takes the filling batch as soon as the
// previous write and fsync finished, writes it, syncs it, and releases its
// appenders. The batch that fills during an fsync is the next group commit.
func (l *Log) flushLoop() {
	defer close(l.flushDone)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		l.mu.Lock()
		for l.cur.empty() && !l.closing {
			l.mu.Unlock()
			<-l.kick
			l.mu.Lock()
		}
		if l.cur.empty() {
			l.mu.Unlock()
			return
		}
		l.linger(timer)
		b := l.cur
		l.cur = &batch{buf: l.spare, splits: l.spareSp, done: make(chan struct{})}
		l.spare, l.spareSp = nil, nil
		l.prevN = b.n
		l.flushing = true
		l.space.Broadcast()
		failed := l.failed
		l.mu.Unlock()

		err := failed
		if err == nil {
			err = l.write(b)
		}
		if err == nil {
			l.durable.Store(uint64(b.end))
			l.appends.Add(uint64(b.calls))
			l.records.Add(uint64(b.n))
			l.notify()
		}
		l.mu.Lock()
		l.flushing = false
		if err != nil && l.failed == nil {
			l.failed = err
		}
		l.mu.Unlock()
		b.err = err
		close(b.done)
		if cap(b.buf) <= 2*maxBatchBytes {
			l.spare, l.spareSp = b.buf[:0], b.splits[:0]
		}
	}
}

// linger holds the filling batch, under load only, until as many records
// joined as the previous group commit had (the appenders it just released
// tend to come back), for at most SyncInterval. A batch whose first record
// came while the log was idle is taken at once. Called with l.mu held;
// Append kicks the flusher when the count is reached.
func (l *Log) linger(timer *time.Timer) {
	if !l.cur.busy || l.cur.n >= l.prevN || l.closing || l.opts.NoSync || l.opts.DeferSync {
		return
	}
	l.lingers.Add(1)
	timer.Reset(l.opts.SyncInterval)
	defer timer.Stop()
	for l.cur.n < l.prevN && !l.closing {
		l.mu.Unlock()
		select {
		case <-l.kick:
		case <-timer.C:
			l.mu.Lock()
			return
		}
		l.mu.Lock()
	}
}

// write appends the frames of b to the active segment, rolling over where
// Append decided, and syncs them.
func (l *Log) write(b *batch) error {
	l.ioMu.Lock()
	defer l.ioMu.Unlock()
	start := 0
	for i := 0; i <= len(b.splits); i++ {
		end := len(b.buf)
		if i < len(b.splits) {
			end = b.splits[i]
		}
		if end > start {
			if err := l.preallocate(int64(end - start)); err != nil {
				return err
			}
			if _, err := l.active.Write(b.buf[start:end]); err != nil {
				return fmt.Errorf("cannot write segment %s: %w", l.activeSeg.name, err)
			}
			l.activeSeg.size.Add(int64(end - start))
			l.bytes.Add(int64(end - start))
			if l.opts.afterWrite != nil {
				l.opts.afterWrite()
			}
			if !l.opts.DeferSync {
				if err := l.sync(); err != nil {
					return err
				}
			}
		}
		if i < len(b.splits) {
			if l.opts.DeferSync { // a sealed segment is synced
				if err := l.sync(); err != nil {
					return err
				}
			}
			if err := l.roll(); err != nil {
				return err
			}
		}
		start = end
	}
	return nil
}

// Sync makes every record written so far durable: with DeferSync, what
// Append did not; otherwise a no-op in effect.
func (l *Log) Sync() error {
	l.ioMu.Lock()
	defer l.ioMu.Unlock()
	l.mu.Lock()
	failed, closing := l.failed, l.closing
	l.mu.Unlock()
	if closing {
		return ErrClosed // Close syncs
	}
	if failed != nil {
		return fmt.Errorf("wal failed earlier: %w", failed)
	}
	if err := l.sync(); err != nil {
		l.mu.Lock()
		if l.failed == nil {
			l.failed = err // as after a failed fsync in the flusher
		}
		l.mu.Unlock()
		return err
	}
	return nil
}

func (l *Log) sync() error {
	if l.opts.NoSync {
		return nil
	}
	if err := syncFile(l.active); err != nil {
		return fmt.Errorf("cannot sync segment %s: %w", l.activeSeg.name, err)
	}
	l.fsyncs.Add(1)
	return nil
}

// preallocChunk is how far ahead of the data the active segment is zeroed.
const preallocChunk = 1 << 20

var zeroChunk [preallocChunk]byte

// preallocate keeps zeroed space ahead of the active segment's data before
// a write of n bytes, so that appends overwrite blocks the file already
// has: fdatasync then flushes data only, with no journal commit for a new
// file size, which on ext4 here makes it about a third cheaper and faster
// (and independent of other files' metadata). A crash leaves zeros after
// the last record, which recovery cuts like a torn tail; the file is
// trimmed to its data when the segment is sealed or the log closed. Only
// for logs synced on every append.
func (l *Log) preallocate(n int64) error {
	if l.opts.NoSync || l.opts.DeferSync {
		return nil
	}
	end := l.activeSeg.size.Load() + n
	if end <= l.zeroEnd {
		return nil
	}
	target := min(end+preallocChunk, max(l.opts.SegmentBytes, end))
	for off := l.zeroEnd; off < target; {
		k := min(target-off, preallocChunk)
		if _, err := l.active.WriteAt(zeroChunk[:k], off); err != nil {
			return fmt.Errorf("cannot extend segment %s: %w", l.activeSeg.name, err)
		}
		off += k
	}
	l.zeroEnd = target
	return nil
}

// trimActive cuts the zeroed space after the active segment's data, and
// syncs the new size.
func (l *Log) trimActive() error {
	size := l.activeSeg.size.Load()
	if l.zeroEnd <= size {
		return nil
	}
	if err := l.active.Truncate(size); err != nil {
		return fmt.Errorf("cannot trim segment %s: %w", l.activeSeg.name, err)
	}
	l.zeroEnd = size
	if l.opts.NoSync {
		return nil
	}
	if err := syncFile(l.active); err != nil {
		return fmt.Errorf("cannot trim segment %s: %w", l.activeSeg.name, err)
	}
	return nil
}
