package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/storage"
)

// configCache keeps S2S configuration documents decoded for the click and
// postback paths, like accountCache: another node's change shows within
// accountTTL, this node's at once (forget). A missing document is cached
// for unknownAccountTTL, so that hits for random campaign ids do not reach
// the ledger each time.
type configCache struct {
	ledger storage.Ledger
	now    func() time.Time
	mu     sync.RWMutex
	m      map[cfgKey]cachedCfg
}

type cfgKey struct{ account, kind, id string }

type cachedCfg struct {
	val     any // decoded document; nil when not found
	owner   string
	expires time.Time
}

func newConfigCache(l storage.Ledger, now func() time.Time) *configCache {
	return &configCache{ledger: l, now: now, m: make(map[cfgKey]cachedCfg)}
}

// lookup returns the cached entry of k, loading it with load on a miss.
func (c *configCache) lookup(k cfgKey, load func() (cachedCfg, error)) (cachedCfg, error) {
	now := c.now()
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e, nil
	}
	e, err := load()
	if err != nil {
		return e, err
	}
	c.mu.Lock()
	if len(c.m) >= maxCachedAccounts {
		clear(c.m)
	}
	c.m[k] = e
	c.mu.Unlock()
	return e, nil
}

// doc returns the decoded document (decode turns the JSON into a value),
// or storage.ErrNotFound.
func (c *configCache) doc(account, kind, id string, decode func([]byte) (any, error)) (any, error) {
	k := cfgKey{strings.Clone(account), kind, strings.Clone(id)}
	e, err := c.lookup(k, func() (cachedCfg, error) {
		raw, err := c.ledger.Config(context.Background(), k.account, kind, k.id)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			return cachedCfg{expires: c.now().Add(unknownAccountTTL)}, nil
		case err != nil:
			return cachedCfg{}, err
		}
		v, err := decode(raw)
		if err != nil {
			return cachedCfg{}, fmt.Errorf("cannot decode %s %q: %w", kind, id, err)
		}
		return cachedCfg{val: v, expires: c.now().Add(accountTTL)}, nil
	})
	if err != nil {
		return nil, err
	}
	if e.val == nil {
		return nil, fmt.Errorf("%s %q: %w", kind, id, storage.ErrNotFound)
	}
	return e.val, nil
}

// owner returns the account of a global id (a campaign).
func (c *configCache) owner(kind, id string) (string, error) {
	k := cfgKey{"", kind, strings.Clone(id)}
	e, err := c.lookup(k, func() (cachedCfg, error) {
		owner, err := c.ledger.ConfigOwner(context.Background(), kind, k.id)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			return cachedCfg{expires: c.now().Add(unknownAccountTTL)}, nil
		case err != nil:
			return cachedCfg{}, err
		}
		return cachedCfg{owner: owner, expires: c.now().Add(accountTTL)}, nil
	})
	if err != nil {
		return "", err
	}
	if e.owner == "" {
		return "", fmt.Errorf("%s %q: %w", kind, id, storage.ErrNotFound)
	}
	return e.owner, nil
}

// all returns every document of a kind, decoded, by id (cached as one
// entry, under the id "*", which no valid id is).
func (c *configCache) all(account, kind string, decode func([]byte) (any, error)) (map[string]any, error) {
	k := cfgKey{strings.Clone(account), kind, "*"}
	e, err := c.lookup(k, func() (cachedCfg, error) {
		raws, err := c.ledger.Configs(context.Background(), k.account, kind)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return cachedCfg{}, err
		}
		docs := make(map[string]any, len(raws))
		for id, raw := range raws {
			v, err := decode(raw)
			if err != nil {
				return cachedCfg{}, fmt.Errorf("cannot decode %s %q: %w", kind, id, err)
			}
			docs[id] = v
		}
		return cachedCfg{val: docs, expires: c.now().Add(accountTTL)}, nil
	})
	if err != nil {
		return nil, err
	}
	return e.val.(map[string]any), nil
}

// forget drops a document after this node changed it.
func (c *configCache) forget(account, kind, id string) {
	c.mu.Lock()
	delete(c.m, cfgKey{account, kind, id})
	delete(c.m, cfgKey{account, kind, "*"})
	delete(c.m, cfgKey{"", kind, id})
	c.mu.Unlock()
}

// Typed getters.

func (c *configCache) campaign(account, id string) (*campaignDoc, error) {
	v, err := c.doc(account, storage.ConfigCampaign, id, decodeAs[campaignDoc])
	if err != nil {
		return nil, err
	}
	return v.(*campaignDoc), nil
}

func (c *configCache) source(account, id string) (*sourceDoc, error) {
	v, err := c.doc(account, storage.ConfigSource, id, decodeAs[sourceDoc])
	if err != nil {
		return nil, err
	}
	return v.(*sourceDoc), nil
}

// network is a network's document with its allow-list parsed.
type network struct {
	networkDoc
	allow []*net.IPNet
}

func (c *configCache) network(account, id string) (*network, error) {
	v, err := c.doc(account, storage.ConfigNetwork, id, func(raw []byte) (any, error) {
		n := &network{}
		if err := json.Unmarshal(raw, &n.networkDoc); err != nil {
			return nil, err
		}
		for _, a := range n.AllowIPs {
			ipn, err := parseAllow(a)
			if err != nil {
				return nil, err
			}
			n.allow = append(n.allow, ipn)
		}
		return n, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*network), nil
}

func decodeAs[T any](raw []byte) (any, error) {
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, err
	}
	return v, nil
}

// configDocs reads every document of a kind of the account as T values,
// in no particular order.
func configDocs[T any](ctx context.Context, l storage.Ledger, acct, kind string) ([]T, error) {
	all, err := l.Configs(ctx, acct, kind)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(all))
	for id, raw := range all {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("stored %s %s: %w", kind, id, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// deleteDocs removes the documents of id (one per kind: an export's
// description and rows), or answers 404 when the first does not exist.
func (s *Server) deleteDocs(c *fiber.Ctx, what, id string, kinds ...string) error {
	ctx, acct := c.UserContext(), account(c).ID
	if _, err := s.ledger.Config(ctx, acct, kinds[0], id); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return errNotFound("no such " + what)
		}
		return err
	}
	for _, kind := range kinds {
		if err := s.ledger.DeleteConfig(ctx, acct, kind, id); err != nil {
			return err
		}
	}
	return c.JSON(fiber.Map{"deleted": id})
}
