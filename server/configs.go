package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/storage"
)

// configCache keeps S2S configuration documents decoded for the click,
// postback, lead and CRM paths, like accountCache (readcache.go).
type configCache struct {
	ledger storage.Ledger
	c      *readCache[cfgKey, any] // decoded document, or the owner of a global id
}

type cfgKey struct{ account, kind, id string }

func newConfigCache(l storage.Ledger, now func() time.Time) *configCache {
	own := func(k cfgKey) cfgKey {
		return cfgKey{strings.Clone(k.account), strings.Clone(k.kind), strings.Clone(k.id)}
	}
	return &configCache{ledger: l, c: newReadCache[cfgKey, any](now, own)}
}

// doc returns the decoded document (decode turns the JSON into a value),
// storage.ErrNotFound, or storage.ErrUnavailable (the ledger cannot be
// reached and the document was never read).
func (c *configCache) doc(account, kind, id string, decode func([]byte) (any, error)) (any, error) {
	k := cfgKey{account, kind, id}
	v, found, err := c.c.get(k, func(ctx context.Context) (any, bool, error) {
		raw, err := c.ledger.Config(ctx, strings.Clone(account), kind, strings.Clone(id))
		switch {
		case errors.Is(err, storage.ErrNotFound):
			return nil, false, nil
		case err != nil:
			return nil, false, err
		}
		v, err := decode(raw)
		if err != nil {
			return nil, false, fmt.Errorf("cannot decode %s %q: %w", kind, id, err)
		}
		return v, true, nil
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%s %q: %w", kind, id, storage.ErrNotFound)
	}
	return v, nil
}

// owner returns the account of a global id (a campaign).
func (c *configCache) owner(kind, id string) (string, error) {
	v, found, err := c.c.get(cfgKey{"", kind, id}, func(ctx context.Context) (any, bool, error) {
		owner, err := c.ledger.ConfigOwner(ctx, kind, strings.Clone(id))
		switch {
		case errors.Is(err, storage.ErrNotFound):
			return nil, false, nil
		case err != nil:
			return nil, false, err
		}
		return owner, true, nil
	})
	if err != nil {
		return "", err
	}
	if !found {
		return "", fmt.Errorf("%s %q: %w", kind, id, storage.ErrNotFound)
	}
	return v.(string), nil
}

// all returns every document of a kind, decoded, by id (cached as one
// entry, under the id "*", which no valid id is).
func (c *configCache) all(account, kind string, decode func([]byte) (any, error)) (map[string]any, error) {
	v, _, err := c.c.get(cfgKey{account, kind, "*"}, func(ctx context.Context) (any, bool, error) {
		raws, err := c.ledger.Configs(ctx, strings.Clone(account), kind)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, false, err
		}
		docs := make(map[string]any, len(raws))
		for id, raw := range raws {
			v, err := decode(raw)
			if err != nil {
				return nil, false, fmt.Errorf("cannot decode %s %q: %w", kind, id, err)
			}
			docs[id] = v
		}
		return docs, true, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(map[string]any), nil
}

// forget drops a document after this node changed it.
func (c *configCache) forget(account, kind, id string) {
	c.c.forget(cfgKey{account, kind, id})
	c.c.forget(cfgKey{account, kind, "*"})
	c.c.forget(cfgKey{"", kind, id})
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
