package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pixelpost/pixelpost/storage"
)

// Accounts and configuration documents change rarely and every tracking
// hit needs some: a short-lived cache saves a ledger round trip per hit.
// Another node's change shows here within cacheTTL; this node's at once
// (forget). A missing object is cached for missingTTL, so that hits for
// random ids do not reach the ledger each time.
const (
	cacheTTL   = 5 * time.Second
	missingTTL = time.Second
	// While the ledger cannot be reached, an expired entry is served as it
	// was (stale) and one caller per staleRetry tries to refresh it; a key
	// never read is answered ErrUnavailable for staleRetry without asking.
	staleRetry = time.Second
	// loadTimeout bounds a lookup on a tracking request's path: the answer
	// must not wait for an unreachable ledger's connection timeouts.
	loadTimeout = time.Second
	// maxCachedEntries bounds a cache against hits for random ids.
	maxCachedEntries = 10000
)

// readCache is a cache of ledger reads keyed by K, safe for concurrent
// use. It serves what it read last while the ledger is unavailable: a
// tracking hit is decided on the account and configuration the node knew
// rather than refused because Redis is failing over.
//
// Freshness follows the injected clock (now); how often an unreachable
// ledger is asked again follows the process's monotonic clock: it is about
// the ledger's health, not about the hits' time.
type readCache[K comparable, V any] struct {
	now   func() time.Time
	clone func(K) K // owns a key before it is stored (it may alias Fiber's buffers)
	mu    sync.RWMutex
	m     map[K]readEntry[V]
}

type readEntry[V any] struct {
	val         V
	found       bool
	unavailable bool      // never read: the last lookup failed
	expires     time.Time // fresh until then (injected clock)
	retry       time.Time // no lookup before then (monotonic clock)
}

func newReadCache[K comparable, V any](now func() time.Time, clone func(K) K) *readCache[K, V] {
	return &readCache[K, V]{now: now, clone: clone, m: make(map[K]readEntry[V])}
}

// get returns the value of k and whether it exists. On a miss, or when
// the entry expired, load reads it (found false: it does not exist) with
// a context bounded by loadTimeout. When load fails with
// storage.ErrUnavailable the last value read is returned as it was
// (stale); a key never read gets the error (wrapped). Other errors of
// load are returned and not cached.
func (c *readCache[K, V]) get(k K, load func(ctx context.Context) (V, bool, error)) (V, bool, error) {
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if ok && !e.unavailable && !c.now().After(e.expires) {
		return e.result()
	}
	if ok {
		// Expired, or never read: one caller asks the ledger per
		// staleRetry, the others get the entry as it is meanwhile, so that
		// an unreachable ledger delays one hit per key and second, not all
		// of them.
		c.mu.Lock()
		cur, still := c.m[k]
		claimed := still && !time.Now().Before(cur.retry)
		if claimed {
			cur.retry = time.Now().Add(staleRetry)
			c.m[k] = cur
		}
		c.mu.Unlock()
		if !claimed {
			return cur.result()
		}
		e = cur
	}
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	val, found, err := load(ctx)
	switch {
	case err == nil:
		ttl := cacheTTL
		if !found {
			ttl = missingTTL
		}
		e = readEntry[V]{val: val, found: found, expires: c.now().Add(ttl)}
	case unreachable(err) && ok && !e.unavailable:
		return e.result() // stale, not asked again before staleRetry
	case unreachable(err):
		e = readEntry[V]{unavailable: true, retry: time.Now().Add(staleRetry)}
		if !errors.Is(err, storage.ErrUnavailable) {
			err = fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
		}
	default:
		var zero V
		return zero, false, err
	}
	c.mu.Lock()
	if len(c.m) >= maxCachedEntries {
		clear(c.m)
	}
	c.m[c.clone(k)] = e
	c.mu.Unlock()
	if err != nil {
		var zero V
		return zero, false, err
	}
	return e.result()
}

// unreachable reports a lookup that failed for want of the ledger (it is
// down, or did not answer within loadTimeout).
func unreachable(err error) bool {
	return errors.Is(err, storage.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)
}

func (e readEntry[V]) result() (V, bool, error) {
	if e.unavailable {
		var zero V
		return zero, false, fmt.Errorf("not read yet: %w", storage.ErrUnavailable)
	}
	return e.val, e.found, nil
}

// peek returns the entry of k as it is, fresh or not, without a lookup.
func (c *readCache[K, V]) peek(k K) (V, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e := c.m[k]
	return e.val, e.found
}

// forget drops k (this node changed it).
func (c *readCache[K, V]) forget(k K) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}
