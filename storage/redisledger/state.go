package redisledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/pixelpost/pixelpost/storage"
)

// errOldLayout: the account is in the layout of an earlier build. Applying
// waits (the error wraps storage.ErrUnavailable, so the applier keeps its
// hits on disk and retries) until `pixelpost migrate-ledger` converted it.
var errOldLayout = fmt.Errorf("account in the ledger layout of an earlier build: run pixelpost migrate-ledger: %w", storage.ErrUnavailable)

// state returns an account's epoch state, reading it when the node has
// none (one MULTI: the account record, its tombstones and its log hash).
func (l *Ledger) state(ctx context.Context, account string) (*acctState, *acctLogs, error) {
	st, lg := l.states.get(account)
	if st != nil && lg != nil {
		return st, lg, nil
	}
	p := keyPrefix(account)
	var acct *redis.SliceCmd
	var exists *redis.IntCmd
	var erased, logs *redis.MapStringStringCmd
	_, err := l.c.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		exists = pipe.Exists(ctx, p+sfxAccount)
		acct = pipe.HMGet(ctx, p+sfxAccount, "ep", "layout")
		erased = pipe.HGetAll(ctx, p+sfxErased)
		logs = pipe.HGetAll(ctx, p+sfxLog)
		return nil
	})
	if err != nil {
		return nil, nil, wrap("cannot read account "+account, err)
	}
	st = &acctState{exists: exists.Val() == 1, tombs: map[string]int64{}, tags: map[string][]string{},
		campaigns: map[string][]byte{}, listed: map[string]bool{}}
	if !st.exists {
		// Not kept: another node may create the account any moment.
		return st, &acctLogs{blobs: map[string][]blob{}}, nil
	}
	v := acct.Val()
	ep, _ := v[0].(string)
	layout, _ := v[1].(string)
	if layout != layoutVersion || ep == "" {
		return nil, nil, fmt.Errorf("account %q: %w", account, errOldLayout)
	}
	st.ep = ep
	for id, ns := range erased.Val() {
		n, err := strconv.ParseInt(ns, 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("erasure of %s in %s: bad time %q", id, account, ns)
		}
		st.tombs[id] = n
	}
	if lg == nil {
		lg = &acctLogs{blobs: map[string][]blob{}}
		for f, val := range logs.Val() {
			log, last, ok := strings.Cut(f, ":")
			if !ok {
				l.cache.put(cacheKey(account, sfxLog, f), val) // a mark
				continue
			}
			n, err := strconv.ParseUint(last, 16, 64)
			if err != nil {
				continue // not ours
			}
			lg.blobs[log] = append(lg.blobs[log], blob{field: f, last: n})
		}
		for _, bs := range lg.blobs {
			slices.SortFunc(bs, func(a, b blob) int { return cmpUint(a.last, b.last) })
		}
	}
	l.states.set(account, st, lg)
	return st, lg, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// tagMembers returns the webinars of a tag, read once per epoch.
func (l *Ledger) tagMembers(ctx context.Context, account string, st *acctState, tag string) ([]string, error) {
	st.mu.Lock()
	m, ok := st.tags[tag]
	st.mu.Unlock()
	if ok {
		return m, nil
	}
	m, err := l.c.ZRange(ctx, keyPrefix(account)+tagKey(tag), 0, -1).Result()
	if err != nil {
		return nil, wrap("cannot read tag of "+account, err)
	}
	st.mu.Lock()
	st.tags[tag] = m
	st.mu.Unlock()
	return m, nil
}

// config returns a configuration document the rules read, once per epoch.
func (l *Ledger) campaign(ctx context.Context, account string, st *acctState, id string) ([]byte, error) {
	st.mu.Lock()
	d, ok := st.campaigns[id]
	st.mu.Unlock()
	if ok {
		return d, nil
	}
	d, err := l.c.HGet(ctx, keyPrefix(account)+configKeySuffix(storage.ConfigCampaign), id).Bytes()
	if errors.Is(err, redis.Nil) {
		d, err = nil, nil
	}
	if err != nil {
		return nil, wrap("cannot read campaign of "+account, err)
	}
	st.mu.Lock()
	st.campaigns[id] = d
	st.mu.Unlock()
	return d, nil
}

// pos16 is a position as the log hash writes it: 16 hex digits, so that a
// mark is compared whole and fields sort by position.
func pos16(p uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = digits[p&15]
		p >>= 4
	}
	return string(b[:])
}

// Marks returns the account's high-water marks by log
// (storage.MarkReader).
func (l *Ledger) Marks(ctx context.Context, account string) (map[string]uint64, error) {
	if !keyable(account) {
		return nil, fmt.Errorf("account %q: %w", account, storage.ErrNotFound)
	}
	all, err := l.c.HGetAll(ctx, keyPrefix(account)+sfxLog).Result()
	if err != nil {
		return nil, wrap("cannot read marks of "+account, err)
	}
	out := map[string]uint64{}
	for f, v := range all {
		if strings.Contains(f, ":") {
			continue // a batch's kept results
		}
		n, err := strconv.ParseUint(v, 16, 64)
		if err != nil {
			return nil, fmt.Errorf("mark of log %q of %s: bad value %q", f, account, v)
		}
		out[f] = n
	}
	return out, nil
}
