package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

// accountCache keeps accounts for the tracking endpoints: every hit needs
// its account's default currency and cap (readcache.go).
type accountCache struct {
	ledger storage.Ledger
	c      *readCache[string, storage.Account]
}

func newAccountCache(l storage.Ledger, now func() time.Time) *accountCache {
	return &accountCache{ledger: l, c: newReadCache[string, storage.Account](now, strings.Clone)}
}

// get returns the account, storage.ErrNotFound for an unknown or malformed
// id, or storage.ErrUnavailable when the ledger cannot be reached and the
// account was never read (a known one is served as last read).
func (a *accountCache) get(id string) (storage.Account, error) {
	if !attribution.ValidID(id) {
		return storage.Account{}, fmt.Errorf("account %q: %w", id, storage.ErrNotFound)
	}
	acct, found, err := a.c.get(id, func(ctx context.Context) (storage.Account, bool, error) {
		// id may be a Fiber string over a reused buffer, and the ledger may
		// return it as the account's ID: own it before it is cached.
		acct, err := a.ledger.Account(ctx, strings.Clone(id))
		if errors.Is(err, storage.ErrNotFound) {
			return storage.Account{}, false, nil
		}
		return acct, err == nil, err
	})
	if err != nil {
		return storage.Account{}, err
	}
	if !found {
		return storage.Account{}, fmt.Errorf("account %q: %w", id, storage.ErrNotFound)
	}
	return acct, nil
}

// forget drops a cached account after this node changed it.
func (a *accountCache) forget(id string) { a.c.forget(id) }

// cachedKnown reports whether id was found in the ledger when last looked
// up, without looking it up now: for paths that must stay cheap under a
// flood (rate-limited hits).
func (a *accountCache) cachedKnown(id string) bool {
	_, found := a.c.peek(id)
	return found
}

// known reports whether id names an existing account (a ledger error
// counts as unknown).
func (a *accountCache) known(id string) bool {
	_, err := a.get(id)
	return err == nil
}
