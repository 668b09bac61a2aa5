package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

// Accounts change rarely and every hit needs its account's default
// currency: a short-lived cache saves a ledger round trip per hit. Another
// node's change shows here within accountTTL; this node's at once.
const (
	accountTTL        = 5 * time.Second
	unknownAccountTTL = time.Second
	// maxCachedAccounts bounds the cache against hits for random account ids.
	maxCachedAccounts = 10000
)

type accountCache struct {
	ledger storage.Ledger
	now    func() time.Time
	mu     sync.RWMutex
	m      map[string]cachedAccount
}

type cachedAccount struct {
	acct    storage.Account
	found   bool
	expires time.Time
}

func newAccountCache(l storage.Ledger, now func() time.Time) *accountCache {
	return &accountCache{ledger: l, now: now, m: make(map[string]cachedAccount)}
}

// get returns the account, storage.ErrNotFound for an unknown or malformed
// id, or storage.ErrUnavailable.
func (a *accountCache) get(id string) (storage.Account, error) {
	if !attribution.ValidID(id) {
		return storage.Account{}, fmt.Errorf("account %q: %w", id, storage.ErrNotFound)
	}
	now := a.now()
	a.mu.RLock()
	e, ok := a.m[id]
	a.mu.RUnlock()
	if !ok || now.After(e.expires) {
		// id may be a Fiber string over a reused buffer, and the ledger may
		// return it as the account's ID: own it before it is cached.
		id = strings.Clone(id)
		acct, err := a.ledger.Account(context.Background(), id)
		switch {
		case err == nil:
			e = cachedAccount{acct: acct, found: true, expires: now.Add(accountTTL)}
		case errors.Is(err, storage.ErrNotFound):
			e = cachedAccount{expires: now.Add(unknownAccountTTL)}
		default:
			return storage.Account{}, err
		}
		a.mu.Lock()
		if len(a.m) >= maxCachedAccounts {
			clear(a.m)
		}
		a.m[id] = e
		a.mu.Unlock()
	}
	if !e.found {
		return storage.Account{}, fmt.Errorf("account %q: %w", id, storage.ErrNotFound)
	}
	return e.acct, nil
}

// forget drops a cached account after this node changed it.
func (a *accountCache) forget(id string) {
	a.mu.Lock()
	delete(a.m, id)
	a.mu.Unlock()
}

// cachedKnown reports whether id was found in the ledger when last looked
// up, without looking it up now: for paths that must stay cheap under a
// flood (rate-limited hits).
func (a *accountCache) cachedKnown(id string) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.m[id].found
}

// known reports whether id names an existing account (a ledger error
// counts as unknown).
func (a *accountCache) known(id string) bool {
	_, err := a.get(id)
	return err == nil
}
