// Package redisledger is the storage.Ledger on Redis or Redis Cluster, for
// production: many stateless pixelpost nodes sharing one ledger. Redis
// keeps the data; the rules are storage/decide's, run in Go on each node.
//
// Apply decides the ops of each account with a decide.Txn that reads the
// node's cache of records (a record it does not hold is taken to be
// absent), then sends the writes to lua/commit.lua, a generic script that
// checks every record the decisions read is still the version read and
// makes the writes, atomically, or refuses and returns the records that
// changed: the node learns them and decides again. So the common case is
// one script call per batch per account, several nodes may apply one
// account at once and stay exact (a conflict is decided again; webinar
// totals are increments, which never conflict), and no rule is in Lua.
// Exactly once is by log position (storage.Op.Log): a mark per hits log
// and account, written by the same call as the batch's effects.
//
// Redis is fast, not the record (SPEC §2.11): run it with AOF and with
// maxmemory-policy noeviction, and call CheckConfig at start-up.
//
// Cluster: the script declares only the account record as KEYS[1] and
// builds its other keys from the same {account} hash tag (keys.go), which
// Redis Cluster allows for keys of the declared slot. While a slot is
// being migrated (resharding) a call can fail half-way on a key already
// moved: reshard while the ledger is idle, or run pixelpost reconcile
// afterwards.
package redisledger

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/decide"
)

//go:embed lua/commit.lua
var commitSrc string

// Config tunes a Ledger. The zero value is the production setting.
type Config struct {
	// CacheRecords bounds the node's cache of records (two generations of
	// this many); 0: 32768.
	CacheRecords int
}

// Ledger is the Redis storage.Ledger. It is safe for concurrent use.
type Ledger struct {
	c            redis.UniversalClient
	ownsClient   bool
	commitScript *redis.Script
	cache        *recCache
	states       states

	// unchecked: the configuration could not be checked when the ledger
	// was opened (CheckLater); Apply and Ping check it first.
	unchecked atomic.Bool
}

var _ storage.Ledger = (*Ledger)(nil)

// New returns a ledger on c. It does no I/O: call Ping or CheckConfig to
// reach the server. Close does not close c; the caller owns it.
func New(c redis.UniversalClient, cfg Config) *Ledger {
	return &Ledger{c: c, commitScript: redis.NewScript(commitSrc), cache: newRecCache(cfg.CacheRecords)}
}

// OpenURL opens a ledger on a standalone Redis, redis://[user:pass@]host:port/db
// (go-redis URL options such as ?dial_timeout=3s apply). It does no I/O.
// Close closes the client.
func OpenURL(url string) (*Ledger, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("cannot parse redis url: %w", err)
	}
	l := New(redis.NewClient(opt), Config{})
	l.ownsClient = true
	return l, nil
}

// OpenCluster opens a ledger on a Redis Cluster given seed addresses
// (host:port). It does no I/O. Close closes the client.
//
// The client follows the cluster through failovers: MOVED and ASK
// replies are followed at once, other failures retried with backoff
// (ClusterOptions defaults), and a failure to reach a server makes the
// client read the slot map again (followFailover): a dead master's
// replica, once promoted, answers for its slots within a few hundred
// milliseconds, not at the next periodic refresh.
func OpenCluster(addrs []string) (*Ledger, error) { return OpenClusterNAT(addrs, nil) }

// OpenClusterNAT is OpenCluster for a cluster whose servers announce
// addresses pixelpost cannot reach as they are (behind NAT, in
// containers): nat maps an announced host:port to the host:port to dial.
// Addresses it does not name are dialled as announced.
func OpenClusterNAT(addrs []string, nat map[string]string) (*Ledger, error) {
	if len(addrs) == 0 {
		return nil, errors.New("cannot open redis cluster: no seed address")
	}
	opt := &redis.ClusterOptions{
		Addrs: addrs,
		// A dead master refuses connections at once; the cluster client
		// tries another route rather than dialling it again and again.
		DialerRetries: 2,
		// Bounds how stale the slot map can get without any error.
		ClusterStateReloadInterval: 10 * time.Second,
	}
	if len(nat) > 0 {
		d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 5 * time.Minute}
		opt.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if to, ok := nat[addr]; ok {
				addr = to
			}
			return d.DialContext(ctx, network, addr)
		}
	}
	c := redis.NewClusterClient(opt)
	c.AddHook(followFailover{c})
	l := New(c, Config{})
	l.ownsClient = true
	return l, nil
}

// followFailover reloads a cluster client's slot map when a command could
// not reach its server. A dead master answers nothing, so no MOVED reply
// tells the client that its replica took over; without this the client
// would keep dialling the dead address until its periodic refresh.
// Reloads are coalesced by the client (one at a time, 200 ms apart).
type followFailover struct{ c *redis.ClusterClient }

func (f followFailover) DialHook(next redis.DialHook) redis.DialHook { return next }

func (f followFailover) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		f.check(ctx, err)
		return err
	}
}

func (f followFailover) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		f.check(ctx, err)
		return err
	}
}

// check reloads the slot map after a failure that is not a reply of a
// live server (a refused or broken connection, a timeout) or that says
// the cluster is changing (CLUSTERDOWN, TRYAGAIN, MASTERDOWN).
func (f followFailover) check(ctx context.Context, err error) {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, redis.ErrClosed) || ctx.Err() != nil {
		return
	}
	var rerr redis.Error
	if errors.As(err, &rerr) && !redis.HasErrorPrefix(err, "CLUSTERDOWN") &&
		!redis.HasErrorPrefix(err, "TRYAGAIN") && !redis.HasErrorPrefix(err, "MASTERDOWN") {
		return
	}
	f.c.ReloadState(ctx)
}

// Close closes the client when the ledger opened it (OpenURL, OpenCluster).
func (l *Ledger) Close() error {
	if !l.ownsClient {
		return nil
	}
	if err := l.c.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
		return fmt.Errorf("cannot close redis client: %w", err)
	}
	return nil
}

// Ping reports whether Redis answers (on a cluster: the node of a random
// slot), and, after CheckLater, why it is refused.
func (l *Ledger) Ping(ctx context.Context) error {
	if err := l.checkFirst(ctx); err != nil {
		return err
	}
	if err := l.c.Ping(ctx).Err(); err != nil {
		return wrap("cannot ping redis", err)
	}
	return nil
}

// wrap maps a go-redis error. Errors the caller may retry after a while
// (network, timeouts, a closed client, a server loading, out of memory or
// without a cluster majority) wrap storage.ErrUnavailable; context errors
// and other server replies (a bug) pass through.
func wrap(what string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, err)
	}
	var rerr redis.Error
	if errors.As(err, &rerr) && !transient(err) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: %w: %w", what, storage.ErrUnavailable, err)
}

// transient reports whether a Redis error reply is a passing state of the
// server rather than a refusal of the command.
func transient(err error) bool {
	for _, p := range []string{"LOADING", "BUSY", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN",
		"READONLY", "OOM", "NOREPLICAS", "MOVED", "ASK", "NOSCRIPT"} {
		if redis.HasErrorPrefix(err, p) {
			return true
		}
	}
	return false
}

// PutAccount creates or replaces an account. A new one gets the current
// layout and an epoch; one of an earlier build's layout is refused until
// migrated (Migrate).
func (l *Ledger) PutAccount(ctx context.Context, a storage.Account) error {
	if !keyable(a.ID) {
		return fmt.Errorf("cannot put account: invalid id %q", a.ID)
	}
	k := accountKey(a.ID)
	var exists *redis.IntCmd
	var layout *redis.StringCmd
	_, err := l.c.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		exists = pipe.Exists(ctx, k)
		layout = pipe.HGet(ctx, k, "layout")
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return wrap("cannot put account "+a.ID, err)
	}
	if exists.Val() == 1 && layout.Val() != layoutVersion {
		return fmt.Errorf("cannot put account %s: %w", a.ID, errOldLayout)
	}
	_, err = l.c.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.HSet(ctx, k, "name", a.Name, "cur", a.DefaultCurrency, "max", int64(a.MaxAmount), "layout", layoutVersion)
		pipe.HSetNX(ctx, k, "ep", newToken())
		return nil
	})
	if err != nil {
		return wrap("cannot put account "+a.ID, err)
	}
	return nil
}

// Account reads an account.
func (l *Ledger) Account(ctx context.Context, id string) (storage.Account, error) {
	if !keyable(id) {
		return storage.Account{}, fmt.Errorf("account %q: %w", id, storage.ErrNotFound)
	}
	m, err := l.c.HGetAll(ctx, accountKey(id)).Result()
	if err != nil {
		return storage.Account{}, wrap("cannot read account "+id, err)
	}
	if len(m) == 0 {
		return storage.Account{}, fmt.Errorf("account %q: %w", id, storage.ErrNotFound)
	}
	a := storage.Account{ID: id, Name: m["name"], DefaultCurrency: m["cur"]}
	if v, ok := m["max"]; ok { // absent on accounts written before it existed
		max, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return storage.Account{}, fmt.Errorf("cannot read account %s: max_amount %q: %w", id, v, err)
		}
		a.MaxAmount = attribution.Micros(max)
	}
	return a, nil
}

// webinarRec is a configured webinar as stored in pp:{A}:webinars.
type webinarRec struct {
	Name string   `json:"name"`
	Tags []string `json:"tags"`
}

// PutWebinar creates or replaces a webinar (decide's PutWebinar) and moves
// it in the tag index in one commit, with the account's epoch: a later op
// resolves its tags to the new set.
func (l *Ledger) PutWebinar(ctx context.Context, account string, w storage.Webinar) error {
	if !keyable(account) {
		return fmt.Errorf("account %q: %w", account, storage.ErrNotFound)
	}
	if err := decide.CheckWebinar(w); err != nil {
		return err
	}
	err := l.retry(ctx, account, func(v *view) (*decide.Changes, error) {
		cur, err := l.c.HGet(ctx, keyPrefix(account)+sfxWebinars, w.ID).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, wrap("cannot read webinar "+w.ID, err)
		}
		v.pre = map[string]string{cacheKey(account, sfxWebinars, w.ID): cur}
		d := decide.New(v)
		return d.Changes(), d.PutWebinar(w)
	})
	if err != nil {
		return fmt.Errorf("cannot put webinar %q of account %q: %w", w.ID, account, err)
	}
	return nil
}

// retry decides a change of an account (fn, with a decide.Txn on v) and
// commits it, again while the records it read change.
func (l *Ledger) retry(ctx context.Context, account string, fn func(v *view) (*decide.Changes, error)) error {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if err := backoff(ctx, attempt); err != nil {
			return err
		}
		st, lg, err := l.state(ctx, account)
		if err != nil {
			return err
		}
		if !st.exists {
			return fmt.Errorf("account %q: %w", account, storage.ErrNotFound)
		}
		v := l.newView(ctx, account, st, lg, 1)
		v.req.check(checkRef{key: sfxAccount, field: "ep", kind: kindExact}, "="+st.ep)
		ch, err := fn(v)
		if err != nil {
			return err
		}
		c := &call{view: v, learned: v.writes(ch)}
		if err := l.commit(ctx, []*call{c}); err != nil {
			return err
		}
		if !c.stale {
			return nil
		}
	}
	return fmt.Errorf("the records of account %q kept changing: %w", account, storage.ErrUnavailable)
}

// Webinars lists configured webinars and those first seen in hits, by id.
func (l *Ledger) Webinars(ctx context.Context, account string) ([]storage.Webinar, error) {
	if !keyable(account) {
		return nil, fmt.Errorf("account %q: %w", account, storage.ErrNotFound)
	}
	p := keyPrefix(account)
	var exists *redis.IntCmd
	var all *redis.MapStringStringCmd
	_, err := l.c.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		exists = pipe.Exists(ctx, p+"account")
		all = pipe.HGetAll(ctx, p+"webinars")
		return nil
	})
	if err != nil {
		return nil, wrap("cannot read webinars of "+account, err)
	}
	if exists.Val() == 0 {
		return nil, fmt.Errorf("account %q: %w", account, storage.ErrNotFound)
	}
	out := make([]storage.Webinar, 0, len(all.Val()))
	for id, v := range all.Val() {
		w := storage.Webinar{ID: id, Tags: []string{}}
		if v != "" {
			var rec webinarRec
			if err := json.Unmarshal([]byte(v), &rec); err != nil {
				return nil, fmt.Errorf("cannot decode webinar %q of %s: %w", id, account, err)
			}
			w.Name = rec.Name
			if len(rec.Tags) > 0 {
				w.Tags = rec.Tags
			}
		}
		out = append(out, w)
	}
	slices.SortFunc(out, func(a, b storage.Webinar) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// webinarRead reads one hash of a listed webinar (stats or registrants) in
// one transaction with the account and listing checks.
func (l *Ledger) webinarRead(ctx context.Context, account, webinarID, kind string) (map[string]string, error) {
	if !keyable(account) {
		return nil, fmt.Errorf("account %q: %w", account, storage.ErrNotFound)
	}
	p := keyPrefix(account)
	var exists *redis.IntCmd
	var listed *redis.BoolCmd
	var all *redis.MapStringStringCmd
	_, err := l.c.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		exists = pipe.Exists(ctx, p+"account")
		listed = pipe.HExists(ctx, p+"webinars", webinarID)
		all = pipe.HGetAll(ctx, p+kind+hx(webinarID))
		return nil
	})
	if err != nil {
		return nil, wrap("cannot read webinar "+webinarID+" of "+account, err)
	}
	if exists.Val() == 0 {
		return nil, fmt.Errorf("account %q: %w", account, storage.ErrNotFound)
	}
	if !listed.Val() {
		return nil, fmt.Errorf("webinar %q of %s: %w", webinarID, account, storage.ErrNotFound)
	}
	return all.Val(), nil
}

// WebinarStats reads a listed webinar's totals.
func (l *Ledger) WebinarStats(ctx context.Context, account, webinarID string) (storage.WebinarStats, error) {
	m, err := l.webinarRead(ctx, account, webinarID, "ws:")
	if err != nil {
		return storage.WebinarStats{}, err
	}
	s, err := decodeStats(m)
	if err != nil {
		return storage.WebinarStats{}, fmt.Errorf("webinar %q of %s: %w", webinarID, account, err)
	}
	return s, nil
}

// decodeStats decodes a webinar's stats hash (ws:<h>).
func decodeStats(m map[string]string) (storage.WebinarStats, error) {
	var s storage.WebinarStats
	for f, v := range m {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return storage.WebinarStats{}, fmt.Errorf("bad %s %q", f, v)
		}
		switch {
		case f == "reg":
			s.Registrants = n
		case f == "conv":
			s.Converted = n
		case f == "creg":
			s.ConvertedRegistrants = n
		case f == "sales":
			s.Sales = n
		case strings.HasPrefix(f, "r:") && n != 0:
			if s.Revenue == nil {
				s.Revenue = map[string]attribution.Micros{}
			}
			s.Revenue[f[2:]] = attribution.Micros(n)
		}
	}
	return s, nil
}

// Registrants lists a listed webinar's registrants, oldest first, ties by
// attendee id.
func (l *Ledger) Registrants(ctx context.Context, account, webinarID string) ([]storage.Registrant, error) {
	m, err := l.webinarRead(ctx, account, webinarID, "wr:")
	if err != nil {
		return nil, err
	}
	out, err := decodeRegistrants(m)
	if err != nil {
		return nil, fmt.Errorf("webinar %q of %s: %w", webinarID, account, err)
	}
	return out, nil
}

// decodeRegistrants decodes a webinar's registrants hash (wr:<h>), oldest
// first, ties by attendee id.
func decodeRegistrants(m map[string]string) ([]storage.Registrant, error) {
	out := make([]storage.Registrant, 0, len(m))
	for id, v := range m {
		ns, email, ok := strings.Cut(v, ":")
		t, err := strconv.ParseInt(ns, 10, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("registrant %q: bad record %q", id, v)
		}
		out = append(out, storage.Registrant{AttendeeID: id, Email: email, RegisteredAt: time.Unix(0, t).UTC()})
	}
	slices.SortFunc(out, func(a, b storage.Registrant) int {
		return cmp.Or(a.RegisteredAt.Compare(b.RegisteredAt), strings.Compare(a.AttendeeID, b.AttendeeID))
	})
	return out, nil
}

// Attendee reads an email attendee with its orders, in one script call.
func (l *Ledger) Attendee(ctx context.Context, account, email string) (storage.Attendee, error) {
	if !keyable(account) || email == "" {
		return storage.Attendee{}, fmt.Errorf("attendee of %s: %w", account, storage.ErrNotFound)
	}
	a, err := l.AttendeeByID(ctx, account, attribution.EmailAttendeeID(email))
	if err != nil {
		return a, err
	}
	// An attendee rebuilt from raw hits (reconcile) may not know its email.
	if a.Email != "" && a.Email != email {
		return storage.Attendee{}, fmt.Errorf("attendee of %s: %w", account, storage.ErrNotFound)
	}
	return a, nil
}

// AttendeeByID reads an attendee by id with its orders: its record, then
// the orders of its list.
func (l *Ledger) AttendeeByID(ctx context.Context, account, id string) (storage.Attendee, error) {
	if !keyable(account) || id == "" {
		return storage.Attendee{}, fmt.Errorf("attendee of %s: %w", account, storage.ErrNotFound)
	}
	p := keyPrefix(account)
	var exists *redis.IntCmd
	var rec *redis.MapStringStringCmd
	_, err := l.c.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		exists = pipe.Exists(ctx, p+sfxAccount)
		rec = pipe.HGetAll(ctx, p+attendeeKey(id))
		return nil
	})
	if err != nil {
		return storage.Attendee{}, wrap("cannot read attendee of "+account, err)
	}
	if exists.Val() == 0 || rec.Val()["r"] == "" {
		return storage.Attendee{}, fmt.Errorf("attendee of %s: %w", account, storage.ErrNotFound)
	}
	a, err := l.readAttendee(ctx, account, rec.Val())
	if err != nil {
		return storage.Attendee{}, fmt.Errorf("cannot read attendee %s of %s: %w", id, account, err)
	}
	return a, nil
}

// readAttendee decodes an attendee's hash and reads the orders of its
// list: each the live order of its key while it is the one first seen
// then, else the copy kept when its window expired.
func (l *Ledger) readAttendee(ctx context.Context, account string, fields map[string]string) (storage.Attendee, error) {
	id, rec, err := decodeAttendeeValue(fields["r"])
	if err != nil {
		return storage.Attendee{}, err
	}
	id = attendeeID(id, rec)
	a := storage.Attendee{ID: id, Email: rec.Email, Orders: rec.Orders, LTV: rec.LTV.Public(),
		Webinars: orEmpty(rec.Webinars), Acquisition: orEmpty(rec.Acquisition), OrderList: []storage.Order{}}
	type entry struct {
		fs         int64
		live, copy *redis.StringCmd
	}
	var entries []entry
	p := keyPrefix(account)
	_, err = l.c.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		for f := range fields {
			keyHex, fs, ok := orderListEntry(f)
			if !ok {
				continue
			}
			entries = append(entries, entry{fs: fs, live: pipe.Get(ctx, p+"o:"+keyHex),
				copy: pipe.Get(ctx, p+archivedKey(keyHex, strconv.FormatInt(fs, 10)))})
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return a, wrap("cannot read orders of "+account, err)
	}
	for _, e := range entries {
		var o *decide.Order
		if raw := e.live.Val(); raw != "" {
			if o, err = decodeOrderValue(raw); err != nil {
				return a, err
			}
			if o.FirstSeen != e.fs || o.AttendeeID != id {
				o = nil
			}
		}
		if o == nil {
			raw := e.copy.Val()
			if raw == "" {
				continue // erased meanwhile
			}
			if o, err = decide.DecodeOrder([]byte(raw)); err != nil {
				return a, err
			}
		}
		a.OrderList = append(a.OrderList, o.Public())
	}
	slices.SortStableFunc(a.OrderList, func(x, y storage.Order) int {
		return cmp.Or(x.FirstSeen.Compare(y.FirstSeen), strings.Compare(x.Key, y.Key))
	})
	return a, nil
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Profile returns an attendee's profile fields (pp:{account}:prof:<h>).
func (l *Ledger) Profile(ctx context.Context, account, attendeeID string) (map[string]string, error) {
	if !keyable(account) {
		return nil, fmt.Errorf("account %q: %w", account, storage.ErrNotFound)
	}
	prof, err := l.c.HGetAll(ctx, keyPrefix(account)+profileKey(attendeeID)).Result()
	if err != nil {
		return nil, wrap("cannot read profile", err)
	}
	return prof, nil
}
