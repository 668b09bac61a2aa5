package embedded

import (
	"context"

	bolt "go.etcd.io/bbolt"

	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/decide"
)

// Configuration documents live in accounts/<account>/config/<kind>/<id>;
// the owners of global ids in routes/lp(kind) id -> account.
var (
	bucketConfig = []byte("config")
	bucketRoutes = []byte("routes")
)

// PutConfig stores a configuration document (see storage.Ledger).
func (l *Ledger) PutConfig(ctx context.Context, account, kind, id string, doc []byte) error {
	if err := decide.CheckConfigID(account, kind, id); err != nil {
		return err
	}
	return l.update(ctx, func(tx *bolt.Tx) error {
		acct := tx.Bucket(bucketAccounts).Bucket([]byte(account))
		if acct == nil {
			return notFound("account", account)
		}
		if storage.GlobalKinds[kind] {
			routes, err := tx.CreateBucketIfNotExists(bucketRoutes)
			if err != nil {
				return err
			}
			k := append(lp(nil, kind), id...)
			claim, err := decide.ClaimConfig(account, kind, id, string(routes.Get(k)))
			if err != nil {
				return err
			}
			if claim {
				if err := routes.Put(k, []byte(account)); err != nil {
					return err
				}
			}
		}
		cfg, err := acct.CreateBucketIfNotExists(bucketConfig)
		if err != nil {
			return err
		}
		b, err := cfg.CreateBucketIfNotExists([]byte(kind))
		if err != nil {
			return err
		}
		return b.Put([]byte(id), append([]byte(nil), doc...))
	})
}

// Config returns one configuration document.
func (l *Ledger) Config(ctx context.Context, account, kind, id string) ([]byte, error) {
	var out []byte
	err := l.view(ctx, func(tx *bolt.Tx) error {
		b := configBucket(tx, account, kind)
		if b == nil {
			return notFound(kind, id)
		}
		v := b.Get([]byte(id))
		if v == nil {
			return notFound(kind, id)
		}
		out = append([]byte(nil), v...)
		return nil
	})
	return out, err
}

// Configs returns every configuration document of a kind.
func (l *Ledger) Configs(ctx context.Context, account, kind string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := l.view(ctx, func(tx *bolt.Tx) error {
		if account == "" || tx.Bucket(bucketAccounts).Bucket([]byte(account)) == nil {
			return notFound("account", account)
		}
		b := configBucket(tx, account, kind)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			out[string(k)] = append([]byte(nil), v...)
			return nil
		})
	})
	return out, err
}

// ConfigOwner returns the account that owns a global id.
func (l *Ledger) ConfigOwner(ctx context.Context, kind, id string) (string, error) {
	var owner string
	err := l.view(ctx, func(tx *bolt.Tx) error {
		routes := tx.Bucket(bucketRoutes)
		if routes == nil {
			return notFound(kind, id)
		}
		k := lp([]byte(nil), kind)
		v := routes.Get(append(k, id...))
		if v == nil {
			return notFound(kind, id)
		}
		owner = string(v)
		return nil
	})
	return owner, err
}

func configBucket(tx *bolt.Tx, account, kind string) *bolt.Bucket {
	if account == "" || kind == "" {
		return nil
	}
	acct := tx.Bucket(bucketAccounts).Bucket([]byte(account))
	if acct == nil {
		return nil
	}
	cfg := acct.Bucket(bucketConfig)
	if cfg == nil {
		return nil
	}
	return cfg.Bucket([]byte(kind))
}

// DeleteConfig removes a configuration document (see storage.Ledger).
func (l *Ledger) DeleteConfig(ctx context.Context, account, kind, id string) error {
	return l.update(ctx, func(tx *bolt.Tx) error {
		acct := tx.Bucket(bucketAccounts).Bucket([]byte(account))
		if acct == nil {
			return notFound("account", account)
		}
		if b := configBucket(tx, account, kind); b != nil {
			if err := b.Delete([]byte(id)); err != nil {
				return err
			}
		}
		if routes := tx.Bucket(bucketRoutes); routes != nil {
			k := append(lp(nil, kind), id...)
			if decide.ReleaseConfig(account, kind, string(routes.Get(k))) {
				return routes.Delete(k)
			}
		}
		return nil
	})
}
