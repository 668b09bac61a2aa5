// Package outbox delivers outbound HTTP requests durably: postbacks to
// traffic sources, CRM webhooks and Meta Conversions API events (SPEC §3).
//
// A caller builds a Delivery and calls Enqueue; once Enqueue returns nil the
// delivery is on disk (one bbolt file, fsync'd) and the caller may
// acknowledge whatever caused it. Run delivers due items with a bounded pool
// of workers, records every attempt, and retries with exponential backoff and
// full jitter on network errors, timeouts, 5xx and 429 for Config.MaxAge
// after creation (or after the last manual Retry); any other answer is final.
// Deliveries still pending when the process stops are resumed by the next
// Run.
//
// Delivery is at least once: a receiver may see a request twice when the
// process dies between its answer and the commit of the attempt. An
// idempotency Key makes sure one conversion is enqueued, and so delivered
// successfully, once.
//
// Every request goes through an SSRF guard (see CheckURL and
// Config.AllowPrivateTargets) applied to the address actually dialled.
//
// Redirects are never followed: a 3xx answer is a final failure, recorded
// with its Location, since following it would let a receiver send our
// request, body and headers included, to a destination nobody configured.
package outbox

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

// FileName is the bbolt file of an outbox, in Config.Dir.
const FileName = "outbox.db"

// batchDelay is how long bbolt's Batch lingers for more concurrent Enqueues
// (and attempt records) before one commit, one fsync, takes them all.
const batchDelay = 2 * time.Millisecond

var (
	// ErrClosed is returned by every method of a closed Outbox. It wraps
	// storage.ErrUnavailable.
	ErrClosed = fmt.Errorf("outbox closed: %w", storage.ErrUnavailable)
	// ErrNotFound: no delivery with that id in that account. It wraps
	// storage.ErrNotFound.
	ErrNotFound = fmt.Errorf("delivery %w", storage.ErrNotFound)
	// ErrRunning: Run was called while another Run is under way.
	ErrRunning = errors.New("outbox already running")
	// ErrInvalid: the Delivery or the ListFilter is malformed.
	ErrInvalid = errors.New("invalid delivery")
	// ErrConflict: Retry refused because the delivery is not failed, or
	// because another delivery with the same Key has since been enqueued.
	ErrConflict = errors.New("delivery cannot be retried")
)

// Outbox is a durable queue of outbound requests and their delivery. It is
// safe for concurrent use. Open it, Run it in one goroutine, Close it.
type Outbox struct {
	cfg      Config
	log      zerolog.Logger
	now      func() time.Time
	onResult func(d Delivery, a Attempt, final bool)
	db       *boltfile.DB
	ids      idGen

	transport *http.Transport
	client    *http.Client

	wake chan struct{} // a delivery became due, or a worker is free

	flightMu sync.Mutex
	inFlight map[string]struct{} // ids handed to a worker

	countsMu sync.Mutex
	counts   counts // mirror of the committed counters

	life *lifecycle.State // one Run at a time; Close stops it
}

// Open opens (creating if needed) the outbox file in cfg.Dir. Pending
// deliveries in it are resumed by Run. Only one process can have the file
// open: a second Open waits for Config.LockTimeout, then fails.
func Open(cfg Config, deps Deps) (*Outbox, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(cfg.Dir, FileName)
	db, err := boltfile.Open(path, cfg.LockTimeout, cfg.NoSync)
	if err != nil {
		return nil, fmt.Errorf("cannot open outbox %s: %w", path, err)
	}
	db.MaxBatchDelay = batchDelay
	c, err := initLayout(db)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("cannot initialise outbox %s: %w", path, err)
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	o := &Outbox{
		cfg:      cfg,
		log:      deps.Log,
		now:      now,
		onResult: deps.OnResult,
		db:       db,
		wake:     make(chan struct{}, 1),
		inFlight: make(map[string]struct{}),
		counts:   c,
		life:     lifecycle.New(),
	}
	o.transport, o.client = newClient(cfg)
	return o, nil
}

// Close stops a Run under way (as if its context ended), waits for it, and
// closes the file. Enqueue and the other methods then return ErrClosed.
// It is idempotent.
func (o *Outbox) Close() error {
	if !o.life.Close() {
		return nil
	}
	o.transport.CloseIdleConnections()
	if err := o.db.Close(); err != nil {
		return fmt.Errorf("cannot close outbox: %w", err)
	}
	return nil
}

// Path is the file the outbox lives in.
func (o *Outbox) Path() string { return o.db.Path() }

// poke wakes the dispatcher without blocking.
func (o *Outbox) poke() {
	select {
	case o.wake <- struct{}{}:
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
