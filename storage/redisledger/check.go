package redisledger

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/pixelpost/pixelpost/storage"
)

// CheckConfig checks the settings of every master that the ledger relies
// on (SPEC §2.11). It fails when maxmemory-policy is anything but
// noeviction: allkeys-* policies evict ledger state, and volatile-* ones
// evict hit ids (they carry a TTL), so a replayed hit would count twice.
// It warns when AOF is off (a crash loses every write since the last
// snapshot) and when CONFIG is disabled so nothing can be checked. An
// unreachable server is an error wrapping storage.ErrUnavailable.
func (l *Ledger) CheckConfig(ctx context.Context) (warnings []string, err error) {
	var mu sync.Mutex
	var ce checkError
	check := func(ctx context.Context, c *redis.Client) error {
		w, err := checkNode(ctx, c)
		mu.Lock()
		defer mu.Unlock()
		warnings = append(warnings, w...)
		switch {
		case errors.Is(err, storage.ErrUnavailable):
			ce.unreachable = append(ce.unreachable, err)
		case err != nil:
			ce.refused = append(ce.refused, err)
		}
		return nil
	}
	switch c := l.c.(type) {
	case *redis.ClusterClient:
		if err := c.ForEachMaster(ctx, check); err != nil {
			return warnings, wrap("cannot list redis cluster masters", err)
		}
	case *redis.Client:
		_ = check(ctx, c)
	default:
		return []string{fmt.Sprintf("redis config not checked: unsupported client %T", l.c)}, nil
	}
	if len(ce.refused)+len(ce.unreachable) == 0 {
		return warnings, nil
	}
	return warnings, &ce
}

// checkError is CheckConfig's: the servers refused, and those that could
// not be reached.
type checkError struct{ refused, unreachable []error }

func (e *checkError) Error() string { return errors.Join(e.Unwrap()...).Error() }
func (e *checkError) Unwrap() []error {
	return append(append([]error(nil), e.refused...), e.unreachable...)
}

func checkNode(ctx context.Context, c *redis.Client) (warnings []string, err error) {
	addr := c.Options().Addr
	cfg, err := c.ConfigGet(ctx, "maxmemory-policy").Result()
	if err == nil {
		var aof map[string]string
		aof, err = c.ConfigGet(ctx, "appendonly").Result()
		for k, v := range aof {
			cfg[k] = v
		}
	}
	if err != nil {
		var rerr redis.Error
		if errors.As(err, &rerr) && !transient(err) {
			// CONFIG renamed or disabled (managed Redis): say so, do not fail.
			return []string{fmt.Sprintf("redis %s: cannot check maxmemory-policy and appendonly (%v): "+
				"make sure maxmemory-policy is noeviction and appendonly is yes", addr, err)}, nil
		}
		return nil, wrap("cannot check config of redis "+addr, err)
	}
	switch policy := cfg["maxmemory-policy"]; policy {
	case "noeviction":
	case "":
		warnings = append(warnings, fmt.Sprintf("redis %s: maxmemory-policy not reported: make sure it is noeviction", addr))
	default:
		err = fmt.Errorf("redis %s: maxmemory-policy is %s, which can evict ledger keys "+
			"(an evicted hit id or total is a double count or a lost sale): "+
			"set maxmemory-policy noeviction (CONFIG SET maxmemory-policy noeviction, and in redis.conf)", addr, policy)
	}
	if cfg["appendonly"] == "no" {
		warnings = append(warnings, fmt.Sprintf("redis %s: appendonly is no: a crash loses every write since the last snapshot; "+
			"set appendonly yes with appendfsync everysec (pixelpost reconcile repairs what is lost)", addr))
	}
	return warnings, err
}

// Unreachable reports whether a CheckConfig error only says that servers
// could not be reached (none was found to refuse).
func Unreachable(err error) bool {
	var ce *checkError
	if errors.As(err, &ce) {
		return len(ce.refused) == 0
	}
	return errors.Is(err, storage.ErrUnavailable)
}

// CheckLater is for a ledger opened while Redis could not be reached
// (CheckConfig failed, Unreachable): instead of refusing to start, the
// process takes hits, which wait in its log, and the first Apply (or Ping)
// checks the configuration. Until it passes, Apply applies nothing and
// returns an error wrapping storage.ErrUnavailable, saying why (Redis is
// still unreachable, or its configuration is refused): the hits keep
// waiting, and are applied once the configuration is right.
func (l *Ledger) CheckLater() { l.unchecked.Store(true) }

// checkFirst runs the check CheckLater deferred, once it passes.
func (l *Ledger) checkFirst(ctx context.Context) error {
	if !l.unchecked.Load() {
		return nil
	}
	_, err := l.CheckConfig(ctx)
	switch {
	case err == nil:
		l.unchecked.Store(false)
		return nil
	case Unreachable(err):
		return err
	}
	return fmt.Errorf("%w: redis refused: %w", storage.ErrUnavailable, err)
}
