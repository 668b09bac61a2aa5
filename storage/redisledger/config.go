package redisledger

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/decide"
)

// Configuration documents: the hash pp:{<account>}:cfg:<kind>, id -> JSON,
// in the account's slot. Owners of global ids: the hash pp:routes:<kind>,
// id -> account (one key, in its own slot).
func configKey(account, kind string) string { return keyPrefix(account) + configKeySuffix(kind) }
func routesKey(kind string) string          { return "pp:routes:" + kind }

// PutConfig stores a configuration document (see storage.Ledger). A global
// id is claimed first (HSETNX): two accounts racing for one id cannot both
// win. The claim and the document are two keys in two slots, so not one
// transaction; a claim left without its document is harmless (the owner
// can still PUT it).
func (l *Ledger) PutConfig(ctx context.Context, account, kind, id string, doc []byte) error {
	if !keyable(account) {
		return fmt.Errorf("account %q: %w", account, storage.ErrNotFound)
	}
	if err := decide.CheckConfigID(account, kind, id); err != nil {
		return err
	}
	exists, err := l.c.Exists(ctx, accountKey(account)).Result()
	if err != nil {
		return wrap("cannot put "+kind+" "+id, err)
	}
	if exists == 0 {
		return fmt.Errorf("account %q: %w", account, storage.ErrNotFound)
	}
	if storage.GlobalKinds[kind] {
		if _, err := l.c.HSetNX(ctx, routesKey(kind), id, account).Result(); err != nil {
			return wrap("cannot claim "+kind+" "+id, err)
		}
		owner, err := l.c.HGet(ctx, routesKey(kind), id).Result()
		if err != nil {
			return wrap("cannot claim "+kind+" "+id, err)
		}
		if _, err := decide.ClaimConfig(account, kind, id, owner); err != nil {
			return err
		}
	}
	_, err = l.c.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.HSet(ctx, configKey(account, kind), id, doc)
		if decide.ReadsConfig(kind) {
			pipe.HSet(ctx, accountKey(account), "ep", newToken()) // nodes read it again
		}
		return nil
	})
	if err != nil {
		return wrap("cannot put "+kind+" "+id, err)
	}
	return nil
}

// Config returns one configuration document.
func (l *Ledger) Config(ctx context.Context, account, kind, id string) ([]byte, error) {
	if !keyable(account) {
		return nil, fmt.Errorf("account %q: %w", account, storage.ErrNotFound)
	}
	v, err := l.c.HGet(ctx, configKey(account, kind), id).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%s %q: %w", kind, id, storage.ErrNotFound)
	}
	if err != nil {
		return nil, wrap("cannot read "+kind+" "+id, err)
	}
	return v, nil
}

// Configs returns every configuration document of a kind.
func (l *Ledger) Configs(ctx context.Context, account, kind string) (map[string][]byte, error) {
	if !keyable(account) {
		return nil, fmt.Errorf("account %q: %w", account, storage.ErrNotFound)
	}
	all, err := l.c.HGetAll(ctx, configKey(account, kind)).Result()
	if err != nil {
		return nil, wrap("cannot list "+kind, err)
	}
	out := make(map[string][]byte, len(all))
	for k, v := range all {
		out[k] = []byte(v)
	}
	return out, nil
}

// ConfigOwner returns the account that owns a global id.
func (l *Ledger) ConfigOwner(ctx context.Context, kind, id string) (string, error) {
	owner, err := l.c.HGet(ctx, routesKey(kind), id).Result()
	if errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("%s %q: %w", kind, id, storage.ErrNotFound)
	}
	if err != nil {
		return "", wrap("cannot find "+kind+" "+id, err)
	}
	return owner, nil
}

// DeleteConfig removes a configuration document (see storage.Ledger), then
// the claim of a global id if this account holds it.
func (l *Ledger) DeleteConfig(ctx context.Context, account, kind, id string) error {
	if !keyable(account) {
		return fmt.Errorf("account %q: %w", account, storage.ErrNotFound)
	}
	exists, err := l.c.Exists(ctx, accountKey(account)).Result()
	if err != nil {
		return wrap("cannot delete "+kind+" "+id, err)
	}
	if exists == 0 {
		return fmt.Errorf("account %q: %w", account, storage.ErrNotFound)
	}
	_, err = l.c.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.HDel(ctx, configKey(account, kind), id)
		if decide.ReadsConfig(kind) {
			pipe.HSet(ctx, accountKey(account), "ep", newToken()) // nodes read it again
		}
		return nil
	})
	if err != nil {
		return wrap("cannot delete "+kind+" "+id, err)
	}
	if !storage.GlobalKinds[kind] {
		return nil
	}
	owner, err := l.c.HGet(ctx, routesKey(kind), id).Result()
	if err == nil && decide.ReleaseConfig(account, kind, owner) {
		err = l.c.HDel(ctx, routesKey(kind), id).Err()
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return wrap("cannot release "+kind+" "+id, err)
	}
	return nil
}
