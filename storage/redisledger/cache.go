package redisledger

import "sync"

// The node's cache of what it read and wrote. Nothing in it is trusted:
// every decision made from a cached record names the version it read, and
// the commit script refuses the decision when the record changed (another
// node wrote it, or it was never cached). What the cache buys is the
// common case: one script call per batch per account, with no read before
// it. A record the cache does not hold is taken to be absent (most records
// a batch touches are new: new orders, new customers); when it was not,
// the refusal carries its value and the batch is decided again.

// recordKind says how a record's value is checked and decoded.
type recordKind uint8

const (
	kindToken    recordKind = iota + 1 // starts with a version token (orders, conversions, attendee r, profile pv)
	kindExact                          // compared whole (registrations, cookie links, marks, the epoch)
	kindPresence                       // only whether it exists (clicks, whose content changes with the epoch)
)

// tokenLen is the length of a record's version token.
const tokenLen = 8

// want is the condition commit.lua checks for a value read.
func (k recordKind) want(raw string) string {
	switch {
	case raw == "":
		return ""
	case k == kindExact:
		return "=" + raw
	case k == kindToken && len(raw) >= tokenLen:
		return "^" + raw[:tokenLen]
	default:
		return "^" + raw[:1]
	}
}

// recCache holds raw values (as stored; "" for absent) by key and field,
// in two generations: when the current one is full it becomes the old
// one, and the old one goes. A hit in the old generation moves to the
// current one, so what is used stays.
type recCache struct {
	mu       sync.Mutex
	cur, old map[string]string
	max      int
}

// defaultCacheRecords bounds the cache: two generations of this many
// records, each about 200 bytes (13 MB at worst, under SPEC §7's RSS
// bound). The two hold the records of some 30,000 ops: a refresh, or a
// customer's next charge, finds its order and attendee there unless
// another node applied them.
const defaultCacheRecords = 1 << 15

func newRecCache(max int) *recCache {
	if max <= 0 {
		max = defaultCacheRecords
	}
	return &recCache{cur: make(map[string]string, max), old: map[string]string{}, max: max}
}

func cacheKey(account, key, field string) string {
	return account + "\x00" + key + "\x00" + field
}

// clickCacheKey is where a click is cached: with the account's epoch, as
// an erasure (which moves it) may strip its macros.
func clickCacheKey(account, ep, id string) string {
	return cacheKey(account+"\x00"+ep, clickKey(id), "")
}

// profileCacheKey is where a profile's fields (JSON) are cached: with the
// token they had.
func profileCacheKey(account, id, token string) string {
	return cacheKey(account, profileKey(id), token)
}

func (c *recCache) get(k string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.cur[k]; ok {
		return v, true
	}
	v, ok := c.old[k]
	if ok {
		c.putLocked(k, v)
	}
	return v, ok
}

func (c *recCache) put(k, v string) {
	c.mu.Lock()
	c.putLocked(k, v)
	c.mu.Unlock()
}

// putAll puts the records missed (their values in checked: absent
// indeed), then puts in order, under one lock.
func (c *recCache) putAll(missed []string, checked map[string]string, puts []cached) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range missed {
		c.putLocked(k, checked[k])
	}
	for _, p := range puts {
		c.putLocked(p.key, p.raw)
	}
}

func (c *recCache) putLocked(k, v string) {
	c.cur[k] = v
	if len(c.cur) >= c.max {
		c.old, c.cur = c.cur, make(map[string]string, c.max)
	}
}

// acctState is what a batch of an account reads as a whole, valid for
// one epoch (pp:{A}:account field ep): its tombstones, tag index and
// campaign documents. A change of the epoch drops it.
type acctState struct {
	mu        sync.Mutex // guards the maps: batches of the account may run at once
	exists    bool
	ep        string
	tombs     map[string]int64
	tags      map[string][]string
	campaigns map[string][]byte
	listed    map[string]bool // webinars known to be listed
}

// acctLogs is what the node knows of an account's log hash: the batches
// of results it keeps, by log, oldest first.
type acctLogs struct {
	mu    sync.Mutex
	blobs map[string][]blob
}

// blobsOf returns a copy of the log's batches.
func (lg *acctLogs) blobsOf(log string) []blob {
	lg.mu.Lock()
	defer lg.mu.Unlock()
	return append([]blob(nil), lg.blobs[log]...)
}

// blob is one batch's results: their field and the last position.
type blob struct {
	field string
	last  uint64
}

// states holds the accounts' acctState and acctLogs.
type states struct {
	mu    sync.Mutex
	state map[string]*acctState
	logs  map[string]*acctLogs
}

func (s *states) get(account string) (*acctState, *acctLogs) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state[account], s.logs[account]
}

func (s *states) set(account string, st *acctState, lg *acctLogs) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == nil {
		s.state, s.logs = map[string]*acctState{}, map[string]*acctLogs{}
	}
	if st != nil {
		s.state[account] = st
	}
	if lg != nil {
		s.logs[account] = lg
	}
}

// drop forgets an account's epoch state (its epoch moved).
func (s *states) drop(account string) {
	s.mu.Lock()
	delete(s.state, account)
	s.mu.Unlock()
}
