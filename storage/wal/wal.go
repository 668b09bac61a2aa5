// Package wal is the write-ahead log of hits: an append-only, segmented log
// of opaque byte records on local disk. It makes SPEC §4's promise possible:
// a hit is appended, and durable (fsync'd), before the server answers it;
// shippers read the log later from positions they save in cursors; after a
// crash the log is recovered at Open and read again.
//
// Append blocks until its records are durable. Two goroutines serve the
// appenders: the flusher writes everything that arrived while it wrote
// the previous batch with one write(2), and the syncer fsyncs; one fsync
// covers every batch written before it started and wakes all of their
// Appends at once (group commit). An idle log syncs a lone record at
// once; SyncInterval only bounds how long the syncer may linger, under
// load, for appenders that are about to arrive. AppendWritten returns
// once the flusher wrote its records, for senders that never retry: it
// never waits behind an fsync, and the syncer starts one at most
// SyncCadence (5 ms) after such a write. Readers, Wait and End see a
// record only once it is synced, whichever way it was appended.
//
// Records are framed with their length and a CRC32-C; see format.go for the
// on-disk format. A Pos is a global byte offset: stable across restarts,
// comparable, and strictly increasing from record to record, though not
// dense (a segment cut short by damage leaves a gap).
//
// Recovery (Open) checks the headers of all segments and scans the last one.
// A bad frame there within the torn-tail window of its end (the size of the
// largest write, 4 MiB), or followed only by zeros, is a torn write: the
// file is cut there and fsync'd, and RecoveryInfo says how much was cut.
// Damage further from the end cannot come from a crash (the flusher never
// has more than that window written and not synced): the file is kept as it
// is, closed for appends, and a Reader reaching the damage returns a
// *CorruptError naming the position and where good data resumes. Nothing
// after damage is dropped silently; the reader of the log decides to skip.
//
// Disk space is bounded by Options.MaxBytes (Append returns ErrFull) and
// reclaimed only by Release, which deletes whole segments below a position
// the caller says is no longer needed (typically the smallest cursor of its
// shippers). Without Release the log keeps every record: the raw-hit archive
// of the embedded default, from which Rewrite erases a person's records in
// place (every position stays valid).
package wal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pixelpost/pixelpost/internal/private"
)

// Pos is a position in the log: the global byte offset of a record's frame.
// The zero Pos is the start of a new log.
type Pos uint64

// Errors. Wrapped errors match them with errors.Is.
var (
	// ErrClosed: the Log was closed.
	ErrClosed = errors.New("wal closed")
	// ErrFull: the records would take the log over Options.MaxBytes. Nothing
	// was written; Release shipped segments, or refuse the hit.
	ErrFull = errors.New("wal full")
	// ErrTooLarge: a record is over MaxRecordSize or one Append call over
	// 4 MiB of frames.
	ErrTooLarge = errors.New("wal record too large")
	// ErrCorrupt: stored data failed a check; see CorruptError.
	ErrCorrupt = errors.New("wal corrupt")
	// ErrReleased: a Reader was asked for a position whose segment was
	// deleted by Release.
	ErrReleased = errors.New("wal position released")
	// ErrNoCursor: no cursor of that name was saved.
	ErrNoCursor = errors.New("wal cursor not found")
)

// CorruptError reports damage a Reader found in a segment. Records before
// Pos were read; records from Resume on are intact as far as is known. To
// skip the damage (and the records in it), open a new Reader at Resume.
type CorruptError struct {
	Segment string // file name
	Pos     Pos    // position of the first bad frame
	Resume  Pos    // position of the next good frame, or the start of the next segment
	Reason  string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("wal corrupt at %d in %s (%s), next good data at %d", e.Pos, e.Segment, e.Reason, e.Resume)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// Options configure a Log. Only Dir is required.
type Options struct {
	// Dir holds the segments, cursors and a LOCK file; created if missing.
	// One process at a time may open it.
	Dir string
	// SegmentBytes is the size at which a new segment is started (0 = 64 MiB,
	// or MaxBytes/16 when that is smaller; at least 1 KiB, at most half of
	// MaxBytes). Release reclaims space in whole segments.
	SegmentBytes int64
	// MaxBytes caps the sum of all segment files (0 = 4 GiB): 4 GiB holds
	// about 13 million 300-byte hits, some hours of peak load while
	// ClickHouse is down.
	MaxBytes int64
	// SyncInterval is the longest the syncer lingers, under load, to gather
	// appenders into one fsync (0 = 2ms, at most 10ms). An idle log does
	// not linger.
	SyncInterval time.Duration
	// SyncCadence is the longest a record acknowledged by AppendWritten
	// stays written but not synced before an fsync starts (0 = 5ms, at most
	// 5ms): what a crash of the machine can lose of such records.
	SyncCadence time.Duration
	// NoSync skips fsync: a crash of the machine can lose acknowledged
	// records. For benchmarks only.
	NoSync bool
	// DeferSync makes Append return once its records are written (to the
	// page cache, which a crash of the process does not lose); Sync makes
	// everything written so far durable, and a segment is synced before it
	// is sealed. For a log that can be rebuilt after a crash of the
	// machine from another one whose cursor is saved only after a Sync
	// (the pipeline's rows log).
	DeferSync bool

	// tornWindow overrides maxBatchBytes as the torn-tail window (tests).
	tornWindow int64
	// afterWrite, if set, runs in the flusher after each write (tests).
	afterWrite func()
	// beforeSync, if set, runs in the syncer before each fsync (tests).
	beforeSync func()
	// syncErr, if set, is asked before each fsync of segment data; an
	// error it returns stands for a failed fsync (tests).
	syncErr func() error
	// cadenceTimer, if set, replaces the syncer's timer for the cadence
	// (tests): it is called with how long to wait.
	cadenceTimer func(time.Duration) <-chan time.Time
}

const (
	defaultSegmentBytes = 64 << 20
	defaultMaxBytes     = 4 << 30
	defaultSyncInterval = 2 * time.Millisecond
	maxSyncInterval     = 10 * time.Millisecond
	maxSyncCadence      = 5 * time.Millisecond
	minSegmentBytes     = 1 << 10
	// segmentsPerCap: by default a segment is at most 1/16 of MaxBytes,
	// so a full log frees all but that much once it is read.
	segmentsPerCap = 16
)

func (o *Options) setDefaults() error {
	var errs []error
	if o.Dir == "" {
		errs = append(errs, errors.New("dir is required"))
	}
	switch {
	case o.MaxBytes == 0:
		o.MaxBytes = defaultMaxBytes
	case o.MaxBytes < 0:
		errs = append(errs, fmt.Errorf("negative max bytes %d", o.MaxBytes))
	}
	// Release frees whole segments and never the active one: a full log
	// that was read to its end has room again only if its active segment
	// is a small part of the cap.
	switch {
	case o.SegmentBytes == 0:
		o.SegmentBytes = min(defaultSegmentBytes, max(minSegmentBytes, o.MaxBytes/segmentsPerCap))
	case o.SegmentBytes < minSegmentBytes:
		errs = append(errs, fmt.Errorf("segment size %d is below %d", o.SegmentBytes, minSegmentBytes))
	case o.MaxBytes > 0 && o.SegmentBytes > o.MaxBytes/2:
		errs = append(errs, fmt.Errorf("segment size %d is over half of max bytes %d: a full log could never be released", o.SegmentBytes, o.MaxBytes))
	}
	switch {
	case o.SyncInterval == 0:
		o.SyncInterval = defaultSyncInterval
	case o.SyncInterval < 0 || o.SyncInterval > maxSyncInterval:
		errs = append(errs, fmt.Errorf("sync interval %v is outside (0, %v]", o.SyncInterval, maxSyncInterval))
	}
	switch {
	case o.SyncCadence == 0:
		o.SyncCadence = maxSyncCadence
	case o.SyncCadence < 0 || o.SyncCadence > maxSyncCadence:
		errs = append(errs, fmt.Errorf("sync cadence %v is outside (0, %v]", o.SyncCadence, maxSyncCadence))
	}
	if o.tornWindow == 0 {
		o.tornWindow = maxBatchBytes
	}
	return errors.Join(errs...)
}

// Stats are counters for metrics. Counters count since Open.
type Stats struct {
	Bytes    uint64 // size of all segment files
	Segments uint64 // number of segment files
	Appends  uint64 // Append and AppendWritten calls written
	Written  uint64 // AppendWritten calls acknowledged before their fsync
	Records  uint64 // records written
	Fsyncs   uint64 // fsyncs of segment data (one per group commit, more on rollover)
	Full     bool   // the last Append that checked for space got ErrFull
}

// RecoveryInfo says what Open found. Log it; none of it is fatal.
type RecoveryInfo struct {
	Segments int    // segment files found
	Records  uint64 // intact records in the last segment (the one scanned)
	End      Pos    // end of the log after recovery
	// Cut: a torn tail was removed from the last segment, BytesCut bytes
	// from position CutPos on. Those records were never acknowledged.
	Cut      bool
	CutPos   Pos
	BytesCut int64
	// Corrupt: damage too far from the end to be a torn write was found at
	// CorruptPos. The segment is kept and closed for appends; a Reader
	// returns a *CorruptError there.
	Corrupt    bool
	CorruptPos Pos
}

// Log is a write-ahead log open on a directory. All methods are safe for
// concurrent use.
type Log struct {
	opts Options
	dir  *os.File // for fsync of the directory
	lock *os.File

	// Appenders and the flusher.
	mu       sync.Mutex
	space    *sync.Cond // appenders waiting for room in cur
	cur      *batch     // filling
	tail     Pos        // position after the last enqueued record
	segFill  int64      // frame bytes enqueued into the segment tail is in
	reserved int64      // segment bytes on disk plus enqueued
	closing  bool
	failed   error // sticky write or fsync error
	kick     chan struct{}

	// Batches written and not yet synced, guarded by mu: the syncer's work.
	unsynced      []*batch
	unsyncedN     int       // their records
	unsyncedAt    time.Time // when the first of them was written
	unsyncedBusy  bool      // the first of them was written during an fsync
	syncing       bool      // the syncer is in an fsync
	syncLingering bool      // the syncer waits for more writes to share its fsync
	flushed       bool      // the flusher has ended: sync everything and end
	syncWanted    bool      // the flusher waits for an fsync (boundUnsynced)
	syncKick      chan struct{}
	syncDone      chan struct{}
	// syncMu is held by the syncer during its fsync of the active segment
	// and by the flusher when it closes a sealed one: no fsync of a closed
	// file.
	syncMu sync.Mutex

	// Owned by the flusher.
	ioMu      sync.Mutex // the flusher's writes and Sync
	zeroEnd   int64      // the active segment's file size: zeroed beyond its data (see preallocate)
	active    *os.File
	activeSeg *segment
	spare     []byte
	spareSp   []int
	flushDone chan struct{}

	durable    atomic.Uint64 // position after the last durable record
	writtenEnd atomic.Uint64 // position after the last written record

	segMu sync.RWMutex
	segs  []*segment // ascending base; the last is active

	notifyMu sync.Mutex
	notifyCh chan struct{} // closed when durable advances
	waiters  atomic.Int32
	closedCh chan struct{}

	cursorMu sync.Mutex
	// rewriteMu is held by Rewrite while it rewrites a segment and by
	// Release, which must not delete a segment a rename then brings back.
	rewriteMu sync.Mutex

	recovery RecoveryInfo

	bytes, nsegs             atomic.Int64
	appends, records, fsyncs atomic.Uint64
	writtenAcks              atomic.Uint64
	lingers                  atomic.Uint64 // times the syncer lingered (tests)
	full                     atomic.Bool
	closeOnce                sync.Once
	closeErr                 error
}

// Open opens the log in opts.Dir, creating it if needed, and recovers it
// (see the package documentation). It fails if another process has the
// directory open, or if a segment header is damaged (headers are written
// once, by rename, so that is never a crash).
func Open(opts Options) (*Log, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, fmt.Errorf("invalid wal options: %w", err)
	}
	if err := private.MkdirAll(opts.Dir); err != nil {
		return nil, fmt.Errorf("cannot create wal directory: %w", err)
	}
	lock, err := lockDir(filepath.Join(opts.Dir, "LOCK"))
	if err != nil {
		return nil, err
	}
	dir, err := os.Open(opts.Dir)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("cannot open wal directory: %w", err)
	}
	l := &Log{
		opts:      opts,
		dir:       dir,
		lock:      lock,
		kick:      make(chan struct{}, 1),
		notifyCh:  make(chan struct{}),
		closedCh:  make(chan struct{}),
		flushDone: make(chan struct{}),
		syncKick:  make(chan struct{}, 1),
		syncDone:  make(chan struct{}),
	}
	l.space = sync.NewCond(&l.mu)
	if err := l.recover(); err != nil {
		if l.active != nil {
			l.active.Close()
		}
		dir.Close()
		lock.Close()
		return nil, err
	}
	l.cur = newBatch(nil, nil)
	go l.flushLoop()
	go l.syncLoop()
	return l, nil
}

// Recovery returns what Open found and repaired.
func (l *Log) Recovery() RecoveryInfo { return l.recovery }

// End returns the position after the last durable record: where a Reader
// stops with io.EOF and the next record will be.
func (l *Log) End() Pos { return Pos(l.durable.Load()) }

// Written returns the position after the last record written, which End
// reaches once it is synced (within SyncCadence): every record an
// AppendWritten acknowledged lies before it. For waiting until a consumer
// has seen those records (wait for End to pass it).
func (l *Log) Written() Pos { return Pos(l.writtenEnd.Load()) }

// First returns the position of the oldest record still stored.
func (l *Log) First() Pos {
	l.segMu.RLock()
	defer l.segMu.RUnlock()
	return l.segs[0].base
}

// Stats returns current counters.
func (l *Log) Stats() Stats {
	return Stats{
		Bytes:    uint64(l.bytes.Load()),
		Segments: uint64(l.nsegs.Load()),
		Appends:  l.appends.Load(),
		Written:  l.writtenAcks.Load(),
		Records:  l.records.Load(),
		Fsyncs:   l.fsyncs.Load(),
		Full:     l.full.Load(),
	}
}

// Close waits for pending Appends to be written and synced, then closes the
// files. Appends after Close return ErrClosed; so does Wait. Readers stay
// usable until closed themselves. Close is idempotent.
func (l *Log) Close() error {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closing = true
		l.space.Broadcast()
		l.mu.Unlock()
		l.wake()
		<-l.flushDone
		<-l.syncDone
		close(l.closedCh)
		var errs []error
		if l.failed == nil {
			if err := l.trimActive(); err != nil {
				errs = append(errs, err)
			} else if l.opts.NoSync || l.opts.DeferSync {
				errs = append(errs, syncFile(l.active))
			}
		}
		errs = append(errs, l.active.Close(), l.dir.Close(), l.lock.Close())
		if err := errors.Join(errs...); err != nil {
			l.closeErr = fmt.Errorf("cannot close wal: %w", err)
		}
	})
	return l.closeErr
}

func (l *Log) syncDir() error {
	if err := l.dir.Sync(); err != nil {
		return fmt.Errorf("cannot sync wal directory: %w", err)
	}
	return nil
}
