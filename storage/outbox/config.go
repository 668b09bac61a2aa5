package outbox

import (
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"
)

// Config sizes an Outbox. Only Dir is required; the zero value of every
// other field is the production default.
type Config struct {
	// Dir holds the outbox file (Dir/outbox.db); created if missing.
	Dir string
	// Workers bounds the attempts under way at once. 0: 8: about 100
	// deliveries a second to receivers answering in 80 ms, and still 1.6 a
	// second if every receiver hangs until the 5 s timeout.
	Workers int
	// Timeout bounds one attempt: dial, TLS, request and response headers.
	// 0: 5 s (SPEC §3.1).
	Timeout time.Duration
	// MaxAge is how long a delivery is retried after its creation (or its
	// last manual Retry); the first retryable failure past it is final.
	// 0: 24 h (SPEC §3.1).
	MaxAge time.Duration
	// BackoffBase and BackoffMax shape the default backoff: before retry n
	// (n = 1 after the first failure) wait a uniformly random duration in
	// [0, min(BackoffMax, BackoffBase·2^(n-1))] ("full jitter").
	// 0: 1 s and 1 h: about 13 attempts in the first hour, then one an hour
	// on average, ~35 in 24 h.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// Backoff, if set, replaces the default: it returns the wait before
	// retry n (n ≥ 1). It is called from several workers at once. Tests set
	// it to milliseconds.
	Backoff func(attempt int) time.Duration
	// AllowPrivateTargets lets deliveries reach loopback, private,
	// link-local, CGNAT, unspecified and multicast addresses. Off in
	// production (SSRF guard); tests on loopback turn it on.
	AllowPrivateTargets bool
	// KeepFor is how long a finished (delivered or failed) delivery stays
	// in the history after its last change; older ones are pruned, with
	// their Key. 0: 40 days, longer than the ledgers remember hit ids
	// (storage.HitRetention), so that no hit replayed within that memory
	// finds its Key gone and is sent twice.
	KeepFor time.Duration
	// MaxBodyBytes caps Delivery.Body at Enqueue. 0: 4 MiB (a Meta batch of
	// 1000 events is well under 1 MiB).
	MaxBodyBytes int
	// LockTimeout bounds the wait for the file lock when another process
	// holds the outbox open. 0: 5 s.
	LockTimeout time.Duration
	// NoSync skips fsync: a machine crash can lose acknowledged deliveries.
	// For tests and benchmarks only.
	NoSync bool
}

// Deps are the Outbox's collaborators; all optional.
type Deps struct {
	// Log receives final failures and storage errors, never URLs' query
	// strings or bodies (they may carry personal data or tokens).
	Log zerolog.Logger
	// Now is the clock: creation times, attempt times, due times and the
	// MaxAge window. nil: time.Now. Attempt durations use the monotonic
	// clock whatever Now is.
	Now func() time.Time
	// OnResult, if set, is called after each attempt is durably recorded,
	// with the delivery as stored after it and the attempt; final is true
	// when the delivery is now delivered or failed. It runs on the worker
	// goroutine that made the attempt, so it delays that worker's next
	// delivery: keep it short. d is the caller's to keep.
	OnResult func(d Delivery, a Attempt, final bool)
}

// Defaults.
const (
	DefaultWorkers      = 8
	DefaultTimeout      = 5 * time.Second
	DefaultMaxAge       = 24 * time.Hour
	DefaultKeepFor      = 40 * 24 * time.Hour
	DefaultBackoffBase  = time.Second
	DefaultBackoffMax   = time.Hour
	DefaultMaxBodyBytes = 4 << 20
	defaultLockTimeout  = 5 * time.Second
)

// withDefaults validates cfg, reporting every error at once, and fills in
// the defaults.
func (cfg Config) withDefaults() (Config, error) {
	var errs []error
	if cfg.Dir == "" {
		errs = append(errs, errors.New("outbox: Dir is required"))
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"Workers", int64(cfg.Workers)},
		{"Timeout", int64(cfg.Timeout)},
		{"MaxAge", int64(cfg.MaxAge)},
		{"KeepFor", int64(cfg.KeepFor)},
		{"BackoffBase", int64(cfg.BackoffBase)},
		{"BackoffMax", int64(cfg.BackoffMax)},
		{"MaxBodyBytes", int64(cfg.MaxBodyBytes)},
		{"LockTimeout", int64(cfg.LockTimeout)},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("outbox: %s must not be negative", f.name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, err
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if cfg.Workers == 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	def(&cfg.Timeout, DefaultTimeout)
	def(&cfg.MaxAge, DefaultMaxAge)
	def(&cfg.KeepFor, DefaultKeepFor)
	def(&cfg.BackoffBase, DefaultBackoffBase)
	def(&cfg.BackoffMax, DefaultBackoffMax)
	def(&cfg.LockTimeout, defaultLockTimeout)
	if cfg.BackoffMax < cfg.BackoffBase {
		cfg.BackoffMax = cfg.BackoffBase
	}
	return cfg, nil
}
