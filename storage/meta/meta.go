// Package meta forwards CRM lead-stage events to Meta's Conversions API for
// CRM, durably and per dataset (SPEC §1.6, §3.3).
//
// A caller stores a Dataset (PutDataset), then hands events to Enqueue:
// each is validated (a bad one is rejected with its reason, the others are
// kept), deduplicated on (dataset, lead_id, event_name) and, once Enqueue
// returns, on disk (one bbolt file, fsync'd). Run sends the pending events
// of each dataset in batches of at most MaxBatch, one request at a time per
// dataset, after letting them gather for Config.FlushDelay:
//
//   - 2xx: the events are sent, with Meta's fbtrace_id.
//   - 400 saying the batch is invalid (Graph error code 100, or a CAPI event
//     subcode 2804xxx): Meta refuses a whole batch for one bad event, so the
//     batch is split in halves, recursively, until the bad events stand
//     alone; they fail with Meta's message and the others go through.
//   - a rate limit (HTTP 429, or Graph error code 4, 17, 32, 613, 80004 in
//     any answer): sending to that dataset stops at once, the events of the
//     request and every other pending event stay pending, and no request
//     reaches that dataset before the backoff ends (at least
//     Config.RateLimitWait, or the Retry-After asked for).
//   - 5xx, network errors and timeouts: the batch stays pending and the
//     dataset is retried after the backoff.
//   - any other answer (401, 403, other 4xx, a redirect): the events fail with
//     Meta's message. Failed events are listed (Events) and can be queued
//     again (RetryFailed, or Enqueue of the same lead and stage).
//
// Nothing is dropped silently: an event still pending when its event_time
// is MaxAge old fails locally with that reason instead of being sent to a
// refusal; Diagnostics warns a day before.
//
// Delivery is at least once: Meta may see an event twice when the process
// dies between Meta's answer and its commit (Meta deduplicates CRM events on
// lead_id and event_name too).
//
// The access token of a dataset is a secret: it is stored in the file
// (mode 0600), sent in the request body (never in the URL) and never
// logged; Dataset.Redacted is the form for an API.
package meta

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"

	"github.com/pixelpost/pixelpost/internal/boltfile"
	"github.com/pixelpost/pixelpost/internal/lifecycle"
	"github.com/pixelpost/pixelpost/storage"
)

// FileName is the bbolt file of a Forwarder, in Config.Dir.
const FileName = "meta.db"

// MaxBatch is the most events Meta accepts in one request.
const MaxBatch = 1000

// batchDelay is how long bbolt's Batch lingers for more concurrent Enqueues
// before one commit, one fsync, takes them all.
const batchDelay = 2 * time.Millisecond

var (
	// ErrClosed is returned by every method of a closed Forwarder. It wraps
	// storage.ErrUnavailable.
	ErrClosed = fmt.Errorf("meta forwarder closed: %w", storage.ErrUnavailable)
	// ErrNotFound: no such dataset in that account. It wraps
	// storage.ErrNotFound.
	ErrNotFound = fmt.Errorf("meta dataset %w", storage.ErrNotFound)
	// ErrInvalid: a malformed Dataset or argument.
	ErrInvalid = errors.New("invalid meta dataset")
	// ErrRunning: Run was called while another Run is under way.
	ErrRunning = errors.New("meta forwarder already running")
)

// Forwarder is the durable queue of CRM events and their delivery to Meta.
// It is safe for concurrent use. Open it, Run it in one goroutine, Close it.
type Forwarder struct {
	cfg    Config
	log    zerolog.Logger
	now    func() time.Time
	db     *boltfile.DB
	client *http.Client
	// transport is the client's when Forwarder built it (nil with
	// Deps.Client): its idle connections are closed on Close.
	transport *http.Transport

	wake chan struct{} // events were queued, a flush ended, or a pause was lifted

	stMu   sync.Mutex
	states map[dsKey]*dsState // every dataset, mirror of the committed queue sizes

	life *lifecycle.State // one Run at a time; Close stops it
}

// Open opens (creating if needed) Dir/meta.db. Pending events in it are sent
// by Run; a rate-limit pause recorded before a restart is still honoured.
// Only one process can have the file open: a second Open waits for
// Config.LockTimeout, then fails.
func Open(cfg Config, deps Deps) (*Forwarder, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(cfg.Dir, FileName)
	db, err := boltfile.Open(path, cfg.LockTimeout, cfg.NoSync)
	if err != nil {
		return nil, fmt.Errorf("cannot open meta forwarder %s: %w", path, err)
	}
	db.MaxBatchDelay = batchDelay
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	f := &Forwarder{
		cfg:    cfg,
		log:    deps.Log,
		now:    now,
		db:     db,
		wake:   make(chan struct{}, 1),
		states: make(map[dsKey]*dsState),
		life:   lifecycle.New(),
	}
	if err := f.load(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("cannot initialise meta forwarder %s: %w", path, err)
	}
	if deps.Client != nil {
		f.client = deps.Client
	} else {
		f.transport, f.client = newClient(cfg)
	}
	return f, nil
}

// Close stops a Run under way (as if its context ended), waits for it, and
// closes the file. The other methods then return ErrClosed. Idempotent.
func (f *Forwarder) Close() error {
	if !f.life.Close() {
		return nil
	}
	if f.transport != nil {
		f.transport.CloseIdleConnections()
	}
	if err := f.db.Close(); err != nil {
		return fmt.Errorf("cannot close meta forwarder: %w", err)
	}
	return nil
}

// Path is the file the forwarder lives in.
func (f *Forwarder) Path() string { return f.db.Path() }

// poke wakes the dispatcher without blocking.
func (f *Forwarder) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// wrap maps bolt's closed database to ErrClosed.
func wrap(err error) error {
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}
