// Package pipeline carries every hit from its answer to its rows: the
// promise of SPEC §4 that a hit that was answered is never lost and never
// counted twice.
//
//	handler ──Record──▶ hits log ──applier──▶ ledger.Apply ──▶ rows log ──▶ shippers
//	         (durable before the answer)   (batches, by hit id)   (decided rows)
//
// Record appends a hit to the hits log; the group commit acknowledges all
// hits waiting for one fsync. The applier reads the hits log from its
// cursor, applies the pending hits to the ledger in batches (each op atomic
// and idempotent by hit id), writes every hit with its outcome to the rows
// log, saves its cursor and releases the hits it is done with. The rows log
// is what the ClickHouse shipper reads; without ClickHouse it is the raw-hit
// archive of the embedded default.
//
// While the ledger is unreachable the applier retries with backoff and hits
// wait in the hits log, on disk; they are applied, in order, when it comes
// back. After a crash the applier starts again from its cursor: hits the
// ledger had already applied come back as replayed duplicates, and those
// whose rows were already written are skipped (see Run).
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/wal"
)

// ErrQueued: the hit is durable in the hits log but the ledger has not
// decided it within the caller's deadline (it is unreachable or slow). It
// will be applied when the ledger is back.
var ErrQueued = errors.New("hit queued for the ledger")

// Cursor names in the hits and rows logs.
const (
	cursorLedger = "ledger"      // hits log: next hit to apply
	cursorRows   = "ledger-rows" // rows log: its end when cursorLedger was last saved
)

// Config sizes a Pipeline.
type Config struct {
	// Dir holds the two logs (Dir/hits, Dir/rows).
	Dir string
	// MaxBytes caps each log on disk (0: the wal default, 4 GiB).
	MaxBytes int64
	// SyncInterval is the longest the group commit lingers for more hits
	// (0: the wal default, 2 ms; at most 10 ms).
	SyncInterval time.Duration
	// MaxBatch caps the hits of one ledger Apply (one Redis pipeline, one
	// bbolt transaction). 0: 512.
	MaxBatch int
	// NoSync skips fsync (benchmarks only: a machine crash loses hits).
	NoSync bool
	// HandoffRows, when positive, makes the applier hand the rows it
	// writes to one shipper in memory (Pipeline.Handoff), up to that many
	// rows waiting (DefaultHandoffRows is a good size). 0: no handoff,
	// the rows log is the only way to the rows.
	HandoffRows int
}

// Deps are the Pipeline's collaborators.
type Deps struct {
	Ledger storage.Ledger
	Log    zerolog.Logger
	// OnDecided, if set, sees each batch of hits once their rows are
	// durable, with their final status (metrics, the live list of
	// rejections, outbound deliveries), before RecordAndWait callers get
	// their results. It runs on the applier goroutine: keep it short, and
	// do not keep the slice.
	OnDecided func(hits []storage.Hit)
	// Resolve completes a deferred hit (Hit.Deferred set: answered while
	// its account or configuration could not be read) before it goes to
	// the ledger: it decides the hit from its request as the handler
	// would have, and clears Deferred. An error wrapping
	// storage.ErrUnavailable means they still cannot be read: the applier
	// backs off and tries again, the hit keeping its place in the order.
	// Any other error rejects the hit (internal_error). It runs on the
	// applier goroutine. nil: deferred hits are rejected.
	Resolve func(ctx context.Context, h *storage.Hit) error
}

// Pipeline is safe for concurrent use. Open it, Run it in one goroutine,
// Close it after Run returned.
type Pipeline struct {
	cfg     Config
	ledger  storage.Ledger
	log     zerolog.Logger
	onDone  func(hits []storage.Hit)
	resolve func(ctx context.Context, h *storage.Hit) error
	hits    *wal.Log
	rows    *wal.Log
	logID   logIdentity // the hits log's (logid.go)
	bufs    sync.Pool
	handoff *Handoff // nil without Config.HandoffRows

	mu      sync.Mutex
	waiters map[string]chan storage.Result

	applied     atomic.Uint64 // hits decided by the ledger
	donePos     atomic.Uint64 // hits-log position the applier is done with
	doneMu      sync.Mutex
	doneCh      chan struct{} // closed and replaced when donePos moves
	ledgerDown  atomic.Bool
	draining    atomic.Bool // hits piled up (ledger down, log full): not caught up since
	lastErr     atomic.Pointer[string]
	badRecords  atomic.Uint64
	appendFails atomic.Uint64
}

// Open opens (and recovers) the two logs in cfg.Dir.
func Open(cfg Config, deps Deps) (*Pipeline, error) {
	if deps.Ledger == nil {
		return nil, errors.New("pipeline: a ledger is required")
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 512
	}
	opts := func(name string) wal.Options {
		return wal.Options{Dir: filepath.Join(cfg.Dir, name), MaxBytes: cfg.MaxBytes,
			SyncInterval: cfg.SyncInterval, NoSync: cfg.NoSync}
	}
	hits, err := wal.Open(opts("hits"))
	if err != nil {
		return nil, fmt.Errorf("cannot open hits log: %w", err)
	}
	logID, err := loadLogIdentity(filepath.Join(cfg.Dir, "hits"), hits)
	if err != nil {
		hits.Close()
		return nil, err
	}
	// The rows log is synced only before the ledger cursor is saved: until
	// then its rows can be rebuilt from the hits log (see saveCursors).
	rowsOpts := opts(filepath.Base(RowsDir("")))
	rowsOpts.DeferSync = true
	rows, err := wal.Open(rowsOpts)
	if err != nil {
		hits.Close()
		return nil, fmt.Errorf("cannot open rows log: %w", err)
	}
	for name, l := range map[string]*wal.Log{"hits": hits, "rows": rows} {
		if r := l.Recovery(); r.Cut {
			deps.Log.Warn().Str("log", name).Int64("cut_bytes", r.BytesCut).Msg("write-ahead log: torn tail cut after a crash")
		}
		if r := l.Recovery(); r.Corrupt {
			deps.Log.Error().Str("log", name).Uint64("pos", uint64(r.CorruptPos)).Msg("write-ahead log: damage found; readers skip it")
		}
	}
	p := &Pipeline{cfg: cfg, ledger: deps.Ledger, log: deps.Log, onDone: deps.OnDecided, resolve: deps.Resolve, hits: hits, rows: rows, logID: logID,
		waiters: make(map[string]chan storage.Result), doneCh: make(chan struct{})}
	p.bufs.New = func() any { b := make([]byte, 0, 512); return &b }
	if cfg.HandoffRows > 0 {
		p.handoff = newHandoff(cfg.HandoffRows)
	}
	return p, nil
}

// RowsDir is where the rows log of a pipeline in dir lives (import-wal and
// reconcile open it while the server is stopped).
func RowsDir(dir string) string { return filepath.Join(dir, "rows") }

// Rows is the log of decided hits, for shippers and imports.
func (p *Pipeline) Rows() *wal.Log { return p.rows }

// Handoff is the in-memory way of the rows to one shipper (nil without
// Config.HandoffRows): see Handoff.
func (p *Pipeline) Handoff() *Handoff { return p.handoff }

// Record makes h durable in the hits log; the caller may answer once it
// returns nil. It does not keep h. Errors: wal.ErrFull (the log is at its
// cap: the hit is not recorded), wal.ErrClosed, I/O errors.
func (p *Pipeline) Record(h *storage.Hit) error {
	return p.record(h, p.hits.Append)
}

// RecordWritten is Record for a sender that never retries (a browser
// loading an image): it returns once h is written to the hits log, which
// a crash or kill -9 of the process does not lose; a crash of the machine
// can lose it until the fsync that starts at most 5 ms later
// (wal.Log.AppendWritten). The applier reads only fsynced hits, so the
// ledger never holds a hit the log could lose.
func (p *Pipeline) RecordWritten(h *storage.Hit) error {
	return p.record(h, p.hits.AppendWritten)
}

func (p *Pipeline) record(h *storage.Hit, appendRec func(...[]byte) (wal.Pos, error)) error {
	bp := p.bufs.Get().(*[]byte)
	b := storage.AppendHit((*bp)[:0], h)
	_, err := appendRec(b)
	*bp = b
	p.bufs.Put(bp)
	if err != nil {
		p.refused(1, err)
		return fmt.Errorf("cannot record hit: %w", err)
	}
	return nil
}

// refused counts n hits a Record could not record; a full log means the
// applier is behind: the pipeline is draining until it caught up.
func (p *Pipeline) refused(n int, err error) {
	p.appendFails.Add(uint64(n))
	if errors.Is(err, wal.ErrFull) {
		p.draining.Store(true)
	}
}

// RecordAll makes several hits durable together (one group commit for a
// request that carries many, such as a CRM batch). It does not keep hits.
func (p *Pipeline) RecordAll(hits []storage.Hit) error {
	var recs [][]byte
	size := 0
	recorded := 0
	flush := func() error {
		if len(recs) == 0 {
			return nil
		}
		_, err := p.hits.Append(recs...)
		n := len(recs)
		recs, size = recs[:0], 0
		if err != nil {
			p.refused(len(hits)-recorded, err) // this append and those not tried
			return fmt.Errorf("cannot record %d hits: %w", len(hits), err)
		}
		recorded += n
		return nil
	}
	for i := range hits {
		rec := storage.AppendHit(nil, &hits[i])
		if size+len(rec) > maxRowsAppend {
			if err := flush(); err != nil {
				return err
			}
		}
		recs, size = append(recs, rec), size+len(rec)
	}
	return flush()
}

// RecordAndWait records a pending hit and waits for the ledger's result,
// like a group commit: concurrent callers share one fsync and one ledger
// batch. When ctx ends first the hit stays recorded and ErrQueued is
// returned: the ledger applies it later.
func (p *Pipeline) RecordAndWait(ctx context.Context, h *storage.Hit) (storage.Result, error) {
	res, err := p.RecordAllAndWait(ctx, []storage.Hit{*h})
	if err != nil {
		return storage.Result{}, err
	}
	if res[0].Status == storage.StatusQueued {
		return res[0], ErrQueued
	}
	return res[0], nil
}

// RecordAllAndWait records pending hits together (RecordAll) and waits for
// the ledger's result of each. Those not decided when ctx ends are
// answered StatusQueued: they stay recorded and are applied later. err is
// RecordAll's: then no result is returned.
func (p *Pipeline) RecordAllAndWait(ctx context.Context, hits []storage.Hit) ([]storage.Result, error) {
	chs := make([]chan storage.Result, len(hits))
	p.mu.Lock()
	for i := range hits {
		chs[i] = make(chan storage.Result, 1)
		p.waiters[hits[i].ID] = chs[i]
	}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		for i := range hits {
			delete(p.waiters, hits[i].ID)
		}
		p.mu.Unlock()
	}()
	if err := p.RecordAll(hits); err != nil {
		return nil, err
	}
	results := make([]storage.Result, len(hits))
	for i, ch := range chs {
		select {
		case results[i] = <-ch:
		case <-ctx.Done():
			select { // decided meanwhile?
			case results[i] = <-ch:
			default:
				results[i] = storage.Result{Status: storage.StatusQueued}
			}
		}
	}
	return results, nil
}

// Sync waits until every hit recorded before the call has been decided and
// its row written (or ctx ends), RecordWritten's included (the applier
// reads them once synced). For tests and for reads that must see their
// own writes.
func (p *Pipeline) Sync(ctx context.Context) error {
	target := uint64(p.hits.Written())
	for {
		p.doneMu.Lock()
		ch := p.doneCh
		p.doneMu.Unlock()
		if p.donePos.Load() >= target {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Purge removes the hits recorded before the call from disk: it seals the
// hits log's active segment (wal.Rotate), then waits until the applier
// has decided those hits, saved its cursor and released their segments,
// which are deleted (the rows log keeps only hashes: storage.Hit.Archived).
// An erasure calls it so that no plain email, name or phone of the person
// stays in the hits log until its segment fills. It returns ctx's error
// when the applier did not get there in time (the ledger down, say); a
// later call finishes the job.
func (p *Pipeline) Purge(ctx context.Context) error {
	pos, err := p.hits.Rotate()
	if err != nil {
		return fmt.Errorf("cannot seal the hits log: %w", err)
	}
	// The applier releases the hits log when it saves its cursor
	// (saveCursors), within cursorEvery or cursorIdle of its progress; an
	// idle applier whose cursor is already past pos saves nothing more,
	// so the release is made here too once the saved cursor allows it.
	tick := time.NewTicker(cursorIdle)
	defer tick.Stop()
	for p.hits.First() < pos {
		if c, err := p.hits.Cursor(cursorLedger); err == nil && c >= pos {
			if err := p.hits.Release(pos); err != nil {
				return fmt.Errorf("cannot release the hits log: %w", err)
			}
			continue
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cannot release the hits log up to %d (applier at %d): %w", pos, p.donePos.Load(), ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

// advance publishes the applier's progress to Sync callers.
func (p *Pipeline) advance(pos wal.Pos) {
	p.donePos.Store(uint64(pos))
	p.doneMu.Lock()
	close(p.doneCh)
	p.doneCh = make(chan struct{})
	p.doneMu.Unlock()
}

// Stats are the pipeline's gauges, for /metrics and /readyz.
type Stats struct {
	Applied    uint64 // hits decided since start
	Backlog    uint64 // bytes of hits waiting for the ledger
	LedgerDown bool   // the last Apply failed; hits are queued on disk
	// Draining: hits piled up in the hits log (the ledger was down, or
	// the log refused a hit at its cap) and the applier has not caught up
	// with them yet.
	Draining    bool
	LastError   string
	BadRecords  uint64 // hits-log records that could not be decoded (skipped)
	AppendFails uint64 // hits Record and RecordAll could not record
	Hits, Rows  wal.Stats
}

// Stats returns current figures.
func (p *Pipeline) Stats() Stats {
	s := Stats{Applied: p.applied.Load(), LedgerDown: p.ledgerDown.Load(), Draining: p.draining.Load(),
		BadRecords: p.badRecords.Load(), AppendFails: p.appendFails.Load(),
		Hits: p.hits.Stats(), Rows: p.rows.Stats()}
	if end, done := uint64(p.hits.End()), p.donePos.Load(); end > done {
		s.Backlog = end - done
	}
	if e := p.lastErr.Load(); e != nil {
		s.LastError = *e
	}
	return s
}

// Close closes the logs. Call it after Run returned: Records after Close
// fail with wal.ErrClosed.
func (p *Pipeline) Close() error {
	return errors.Join(p.hits.Close(), p.rows.Close())
}
