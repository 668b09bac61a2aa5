package wal

import (
	"fmt"
	"time"
)

// batch is what the flusher writes with one write(2): the frames of the
// Appends that arrived while it wrote the previous one. Once written it
// waits for the syncer, whose one fsync covers every batch written before
// it started (the group commit).
type batch struct {
	buf       []byte
	splits    []int // offsets in buf where a new segment starts
	n         int   // records
	calls     int   // Append and AppendWritten calls
	wantsSync bool  // an Append or Rotate waits for its fsync: sync at once
	urgent    bool  // an AppendWritten waits for its write: write at once
	busy      bool  // its first record came during an fsync
	end       Pos   // position after the last record
	written   chan struct{}
	writeErr  error // set before written is closed
	done      chan struct{}
	err       error // set before done is closed; done closes after written
}

func newBatch(buf []byte, splits []int) *batch {
	return &batch{buf: buf, splits: splits, written: make(chan struct{}), done: make(chan struct{})}
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
	return l.append(recs, true)
}

// AppendWritten is Append for a sender that never retries (a browser
// loading an image): it returns once recs are written to the segment file,
// without waiting for their fsync. A crash or kill -9 of the process does
// not lose them (the kernel has them); a crash of the machine can, if it
// comes before the fsync, which starts at most Options.SyncCadence after
// the write. End, Readers and Wait still see them only once synced, so a
// consumer of the log never acts on a record the log could lose. It never
// waits behind an fsync in progress. Errors as for Append; an fsync that
// fails after AppendWritten returned fails the Log, as for Append.
func (l *Log) AppendWritten(recs ...[]byte) (Pos, error) {
	return l.append(recs, false)
}

func (l *Log) append(recs [][]byte, waitSync bool) (Pos, error) {
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
	before := b.n
	if before == 0 {
		b.busy = l.syncing
	}
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
	b.wantsSync = b.wantsSync || waitSync
	wake := before == 0 || (!waitSync && !b.urgent)
	b.urgent = b.urgent || !waitSync
	b.end = l.tail
	end := l.tail
	l.mu.Unlock()
	if wake {
		l.wake() // the flusher takes the rest when it comes back
	}

	if !waitSync {
		<-b.written
		if b.writeErr != nil {
			return 0, b.writeErr
		}
		l.writtenAcks.Add(1)
		return end, nil
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
	b.wantsSync = b.wantsSync || pending
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
// previous write finished, writes it (rolling over segments where Append
// decided), releases its AppendWritten callers and hands it to the syncer.
// It never waits for an fsync, except the one that seals a segment.
func (l *Log) flushLoop() {
	defer func() {
		l.mu.Lock()
		l.flushed = true
		l.mu.Unlock()
		l.wakeSyncer()
		close(l.flushDone)
	}()
	for {
		l.mu.Lock()
		for (l.cur.empty() || l.holdBatch()) && !l.closing {
			l.mu.Unlock()
			<-l.kick
			l.mu.Lock()
		}
		if l.cur.empty() {
			l.mu.Unlock()
			return
		}
		b := l.cur
		l.cur = newBatch(l.spare, l.spareSp)
		l.spare, l.spareSp = nil, nil
		l.space.Broadcast()
		failed := l.failed
		l.mu.Unlock()

		err := failed
		if err == nil {
			err = l.boundUnsynced(b.end)
		}
		if err == nil {
			err = l.write(b)
		}
		if err == nil {
			l.writtenEnd.Store(uint64(b.end))
			l.appends.Add(uint64(b.calls))
			l.records.Add(uint64(b.n))
		}
		if cap(b.buf) <= 2*maxBatchBytes {
			l.spare, l.spareSp = b.buf[:0], b.splits[:0]
		}
		b.buf, b.splits = nil, nil
		switch {
		case err != nil:
			l.mu.Lock()
			if l.failed == nil {
				l.failed = err
			}
			l.mu.Unlock()
			b.writeErr, b.err = err, err
			close(b.written)
			close(b.done)
		case l.opts.DeferSync || l.opts.NoSync: // durable means written
			l.durable.Store(uint64(b.end))
			l.notify()
			close(b.written)
			close(b.done)
		default:
			l.mu.Lock()
			first := len(l.unsynced) == 0
			if first {
				l.unsyncedAt = time.Now()
				l.unsyncedBusy = b.busy
			}
			l.unsynced = append(l.unsynced, b)
			l.unsyncedN += b.n
			wake := first || b.wantsSync || l.syncLingering
			l.mu.Unlock()
			close(b.written)
			if wake {
				l.wakeSyncer()
			}
		}
	}
}

// holdBatch reports that the filling batch is better written later: all
// its appenders wait for an fsync, and one is in progress, so they wait
// for the next one anyway, and what joins meanwhile shares its write. The
// syncer wakes the flusher when its fsync is done. Called with l.mu held.
func (l *Log) holdBatch() bool {
	return l.syncing && !l.cur.urgent && len(l.cur.buf) < maxBatchBytes/2
}

func (l *Log) wakeSyncer() {
	select {
	case l.syncKick <- struct{}{}:
	default:
	}
}

// syncLoop is the syncer: it fsyncs the active segment, which covers
// every batch written before the fsync started, then advances the durable
// end and releases those batches' Append callers. It syncs at once when an
// Append waits (the group commit: what was written during one fsync shares
// the next), and otherwise at most SyncCadence after the first unsynced
// write. Closing syncs everything.
func (l *Log) syncLoop() {
	defer close(l.syncDone)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var spare []*batch
	prevN := 0 // records in the previous fsync
	for {
		l.mu.Lock()
		for {
			if len(l.unsynced) > 0 && l.syncDue() {
				break
			}
			if len(l.unsynced) == 0 {
				if l.flushed {
					l.mu.Unlock()
					return
				}
				l.mu.Unlock()
				<-l.syncKick
				l.mu.Lock()
				continue
			}
			wait := l.opts.SyncCadence - time.Since(l.unsyncedAt)
			l.mu.Unlock()
			cadence := l.awaitCadence(timer, wait)
			l.mu.Lock()
			if cadence {
				break
			}
		}
		l.linger(timer, prevN)
		list := l.unsynced
		prevN = l.unsyncedN
		l.unsynced, l.unsyncedN, spare = spare[:0], 0, nil
		l.syncing, l.syncWanted = true, false
		failed := l.failed
		l.mu.Unlock()

		err := failed
		if err == nil {
			if l.opts.beforeSync != nil {
				l.opts.beforeSync()
			}
			l.syncMu.Lock()
			err = l.sync()
			l.syncMu.Unlock()
		}
		if err == nil {
			l.durable.Store(uint64(list[len(list)-1].end))
		}
		l.mu.Lock()
		l.syncing = false
		if err != nil && l.failed == nil {
			l.failed = err
		}
		l.mu.Unlock()
		l.wake()   // a batch held for this fsync (holdBatch)
		l.notify() // after a failure too: the flusher may wait (boundUnsynced)
		for i, b := range list {
			b.err = err
			close(b.done)
			list[i] = nil
		}
		spare = list[:0]
	}
}

// boundUnsynced waits, before the flusher writes up to end, until no more
// than the torn-tail window would be unsynced: a crash of the machine can
// then damage only the end that recovery cuts (see the package
// documentation). Only under a load that writes more than the window
// (4 MiB) during one fsync.
func (l *Log) boundUnsynced(end Pos) error {
	if l.opts.DeferSync || int64(end)-int64(l.durable.Load()) <= l.opts.tornWindow {
		return nil
	}
	l.waiters.Add(1)
	defer l.waiters.Add(-1)
	for {
		l.notifyMu.Lock()
		ch := l.notifyCh
		l.notifyMu.Unlock()
		l.mu.Lock()
		durable, failed := Pos(l.durable.Load()), l.failed
		// Unsynced: waiting for the syncer, or in its fsync.
		unsynced := Pos(l.writtenEnd.Load()) > durable
		l.syncWanted = len(l.unsynced) > 0
		l.mu.Unlock()
		switch {
		case failed != nil:
			return failed
		case !unsynced || int64(end)-int64(durable) <= l.opts.tornWindow:
			return nil
		}
		l.wakeSyncer()
		<-ch
	}
}

// syncDue reports whether the unsynced batches need an fsync now: an
// Append or Rotate waits for one, the flusher has too much unsynced, or
// the Log is closing. Called with l.mu held.
func (l *Log) syncDue() bool {
	if l.flushed || l.syncWanted {
		return true
	}
	for _, b := range l.unsynced {
		if b.wantsSync {
			return true
		}
	}
	return false
}

// awaitCadence waits up to wait for the cadence's fsync, or until the
// flusher wakes the syncer (an Append waits, or the Log closes). It
// reports whether the cadence came.
func (l *Log) awaitCadence(timer *time.Timer, wait time.Duration) bool {
	if wait <= 0 {
		return true
	}
	var due <-chan time.Time
	if l.opts.cadenceTimer != nil {
		due = l.opts.cadenceTimer(wait)
	} else {
		timer.Reset(wait)
		defer timer.Stop()
		due = timer.C
	}
	select {
	case <-due:
		return true
	case <-l.syncKick:
		return false
	}
}

// linger holds an fsync an Append waits for, under load only, until as
// many records were written as the previous fsync covered (the appenders
// it just released tend to come back), for at most SyncInterval and never
// past the cadence. Batches whose first record was written while the log
// was idle are synced at once. Called with l.mu held; the flusher wakes
// the syncer after each write while it lingers.
func (l *Log) linger(timer *time.Timer, prevN int) {
	wait := min(l.opts.SyncInterval, l.opts.SyncCadence-time.Since(l.unsyncedAt))
	if !l.unsyncedBusy || l.unsyncedN >= prevN || l.flushed || l.opts.NoSync || wait <= 0 {
		return
	}
	l.lingers.Add(1)
	l.syncLingering = true
	defer func() { l.syncLingering = false }()
	timer.Reset(wait)
	defer timer.Stop()
	for l.unsyncedN < prevN && !l.flushed {
		l.mu.Unlock()
		select {
		case <-l.syncKick:
		case <-timer.C:
			l.mu.Lock()
			return
		}
		l.mu.Lock()
	}
}

// write appends the frames of b to the active segment, rolling over where
// Append decided. A segment is synced before it is sealed; the rest is
// the syncer's (with DeferSync, Sync's).
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
		}
		if i < len(b.splits) {
			if err := l.sync(); err != nil { // a sealed segment is synced
				return err
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
// Append did not; otherwise the syncer does that within SyncCadence, and
// End moves when it has.
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
	if l.opts.syncErr != nil {
		if err := l.opts.syncErr(); err != nil {
			return fmt.Errorf("cannot sync segment %s: %w", l.activeSeg.name, err)
		}
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
	if l.opts.syncErr != nil {
		if err := l.opts.syncErr(); err != nil {
			return fmt.Errorf("cannot sync segment %s: %w", l.activeSeg.name, err)
		}
	}
	if err := syncFile(l.active); err != nil {
		return fmt.Errorf("cannot trim segment %s: %w", l.activeSeg.name, err)
	}
	return nil
}
