package meta

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/rs/zerolog"
)

// Config sizes a Forwarder. Only Dir is required; the zero value of every
// other field is the production default.
type Config struct {
	// Dir holds the forwarder's file (Dir/meta.db); created if missing.
	Dir string
	// AllowPrivateTargets lets requests reach loopback, private, link-local
	// and other non-public addresses. Off in production (SSRF guard, as in
	// storage/outbox); tests with a fake Graph API on loopback turn it on.
	AllowPrivateTargets bool
	// Timeout bounds one request: dial, TLS, request and response. 0: 10 s
	// (a batch of 1000 events is ~200 KB; Meta usually answers in < 1 s).
	Timeout time.Duration
	// Backoff returns the pause of a dataset after its n-th consecutive
	// failed request (n ≥ 1: 5xx, timeout, network error, rate limit). It is
	// called from several goroutines. nil: full jitter, a uniformly random
	// duration in [0, min(1 h, 1 s·2^(n-1))].
	Backoff func(attempt int) time.Duration
	// RateLimitWait is the shortest pause after a rate-limit answer, whatever
	// Backoff says: Meta asks callers to stop at once and not to retry
	// straight away, and its throttling windows last minutes. 0: 1 min.
	RateLimitWait time.Duration
	// MaxAge is how old an event may be: Meta refuses events whose
	// event_time is more than 7 days old. Enqueue rejects older events, an
	// event still pending at that age fails locally, and Diagnostics warns a
	// day before. 0: 7 days.
	MaxAge time.Duration
	// KeepFor is how long sent and failed events are kept (the (lead,
	// stage) dedupe and the diagnostics read them) after their event time;
	// older ones are pruned. 0: 90 days, far beyond MaxAge: an event of the
	// same lead and stage that old could not be sent anyway.
	KeepFor time.Duration
	// FlushDelay is how long the first pending event of a dataset waits for
	// others to fill the batch; a full batch (MaxBatch) goes at once. 0: 1 s.
	FlushDelay time.Duration
	// Workers bounds the datasets sent to at once (each dataset has at most
	// one request under way). 0: 4.
	Workers int
	// LockTimeout bounds the wait for the file lock when another process
	// holds the file open. 0: 5 s.
	LockTimeout time.Duration
	// NoSync skips fsync: a machine crash can lose acknowledged events. For
	// tests and benchmarks only.
	NoSync bool
}

// Deps are the Forwarder's collaborators; all optional.
type Deps struct {
	// Log receives final failures, pauses and storage errors; never access
	// tokens or request bodies.
	Log zerolog.Logger
	// Now is the clock: validation of event times, enqueue and send times,
	// pauses and the flush delay. nil: time.Now.
	Now func() time.Time
	// Client, if set, replaces the SSRF-guarded HTTP client (tests). Its
	// redirects policy and proxy are the caller's business.
	Client *http.Client
}

// Defaults.
const (
	DefaultTimeout       = 10 * time.Second
	DefaultRateLimitWait = time.Minute
	DefaultMaxAge        = 7 * 24 * time.Hour
	DefaultKeepFor       = 90 * 24 * time.Hour
	DefaultFlushDelay    = time.Second
	DefaultWorkers       = 4
	DefaultBackoffBase   = time.Second
	DefaultBackoffMax    = time.Hour
	defaultLockTimeout   = 5 * time.Second
)

// withDefaults validates cfg, reporting every error at once, and fills in
// the defaults.
func (cfg Config) withDefaults() (Config, error) {
	var errs []error
	if cfg.Dir == "" {
		errs = append(errs, errors.New("meta: Dir is required"))
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"Timeout", int64(cfg.Timeout)},
		{"RateLimitWait", int64(cfg.RateLimitWait)},
		{"MaxAge", int64(cfg.MaxAge)},
		{"KeepFor", int64(cfg.KeepFor)},
		{"FlushDelay", int64(cfg.FlushDelay)},
		{"Workers", int64(cfg.Workers)},
		{"LockTimeout", int64(cfg.LockTimeout)},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("meta: %s must not be negative", f.name))
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
	def(&cfg.Timeout, DefaultTimeout)
	def(&cfg.RateLimitWait, DefaultRateLimitWait)
	def(&cfg.MaxAge, DefaultMaxAge)
	def(&cfg.KeepFor, DefaultKeepFor)
	def(&cfg.FlushDelay, DefaultFlushDelay)
	def(&cfg.LockTimeout, defaultLockTimeout)
	if cfg.Workers == 0 {
		cfg.Workers = DefaultWorkers
	}
	return cfg, nil
}

// backoff is the pause after the n-th consecutive failure (n ≥ 1).
func (f *Forwarder) backoff(n int) time.Duration {
	if f.cfg.Backoff != nil {
		return max(0, f.cfg.Backoff(n))
	}
	return fullJitter(n, DefaultBackoffBase, DefaultBackoffMax)
}

// fullJitter is a uniformly random duration in [0, min(ceil, base·2^(n-1))].
func fullJitter(n int, base, ceil time.Duration) time.Duration {
	limit := ceil
	n = max(n, 1)
	if shift := n - 1; shift < 62 && base <= ceil>>shift {
		limit = base << shift
	}
	if limit <= 0 {
		return 0
	}
	return rand.N(limit + 1)
}
