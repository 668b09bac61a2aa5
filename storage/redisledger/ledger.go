// Package redisledger is the storage.Ledger on Redis or Redis Cluster, for
// production: many stateless pixelpost nodes sharing one ledger. It follows
// docs/ledger.md and passes storage/ledgertest.
//
// The ops of one account are applied by one Lua script call
// (lua/apply.lua, up to maxScriptOps ops) that does all of docs/ledger.md
// for each op in order, atomically, on the account's keys, which share one
// hash slot (see keys.go). Apply sends a whole batch as one pipeline: one
// round trip per node. Idempotency is by hit id (remembered in one hash per
// account and hour), so a batch retried after an error is safe: the ops
// already applied come back as duplicates.
//
// Redis is fast, not the record (SPEC §2.11): run it with AOF and with
// maxmemory-policy noeviction, and call CheckConfig at start-up.
//
// Cluster: a script declares only the account record as KEYS[1] and builds
// its other keys from the same {account} hash tag (keys.go), which Redis
// Cluster allows for keys of the declared slot. While a slot is being
// migrated (resharding), a script can fail half-way on a key already moved
// and leave that op partly applied with its hit id remembered: reshard
// while the ledger is idle, or run pixelpost reconcile afterwards.
//
// Memory: each applied hit id is one key for storage.HitRetention (about
// 130 bytes), each order one small hash, each attendee one small hash.
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
)

var (
	//go:embed lua/apply.lua
	applySrc string
	//go:embed lua/attendee.lua
	attendeeSrc string
	//go:embed lua/webinar.lua
	webinarSrc string
	//go:embed lua/erase.lua
	eraseSrc string
)

// Config tunes a Ledger. The zero value is the production setting.
type Config struct {
	// HitRetention is how long applied hit ids are remembered (a TTL on the
	// server clock); 0 means storage.HitRetention. A shorter one breaks the
	// ledger contract: for tests only.
	HitRetention time.Duration
}

// Ledger is the Redis storage.Ledger. It is safe for concurrent use.
type Ledger struct {
	c          redis.UniversalClient
	ownsClient bool
	ttl        string // "<hit id TTL>:<result TTL>" in seconds, as sent to the script

	apply    *redis.Script
	attendee *redis.Script
	webinar  *redis.Script
	erase    *redis.Script

	// unchecked: the configuration could not be checked when the ledger
	// was opened (CheckLater); Apply and Ping check it first.
	unchecked atomic.Bool
}

var _ storage.Ledger = (*Ledger)(nil)

// New returns a ledger on c. It does no I/O: call Ping or CheckConfig to
// reach the server. Close does not close c; the caller owns it.
func New(c redis.UniversalClient, cfg Config) *Ledger {
	ret := cfg.HitRetention
	if ret <= 0 {
		ret = storage.HitRetention
	}
	secs := int64((ret + time.Second - 1) / time.Second)
	return &Ledger{
		c:        c,
		ttl:      fmt.Sprintf("%d:%d", secs, int64(storage.ResultRetention/time.Second)),
		apply:    redis.NewScript(applySrc),
		attendee: redis.NewScript(attendeeSrc),
		webinar:  redis.NewScript(webinarSrc),
		erase:    redis.NewScript(eraseSrc),
	}
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

// PutAccount creates or replaces an account.
func (l *Ledger) PutAccount(ctx context.Context, a storage.Account) error {
	if !keyable(a.ID) {
		return fmt.Errorf("cannot put account: invalid id %q", a.ID)
	}
	err := l.c.HSet(ctx, accountKey(a.ID), "name", a.Name, "cur", a.DefaultCurrency, "max", int64(a.MaxAmount)).Err()
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

// PutWebinar creates or replaces a webinar and moves it in the tag index in
// one script: a later op resolves its tags to the new set.
func (l *Ledger) PutWebinar(ctx context.Context, account string, w storage.Webinar) error {
	if !keyable(account) {
		return fmt.Errorf("account %q: %w", account, storage.ErrNotFound)
	}
	if w.ID == "" || len(w.ID) > maxIDLen {
		return fmt.Errorf("cannot put webinar: invalid id of %d bytes", len(w.ID))
	}
	tags := slices.Clone(w.Tags)
	slices.Sort(tags)
	tags = slices.Compact(tags)
	if tags == nil {
		tags = []string{}
	}
	rec, err := json.Marshal(webinarRec{Name: w.Name, Tags: tags})
	if err != nil {
		return fmt.Errorf("cannot encode webinar %q: %w", w.ID, err)
	}
	args := make([]any, 0, 2+len(tags))
	args = append(args, w.ID, rec)
	for _, t := range tags {
		args = append(args, t)
	}
	n, err := l.webinar.Run(ctx, l.c, []string{accountKey(account)}, args...).Int()
	if err != nil {
		return wrap("cannot put webinar "+w.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("account %q: %w", account, storage.ErrNotFound)
	}
	return nil
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
	var s storage.WebinarStats
	for f, v := range m {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return storage.WebinarStats{}, fmt.Errorf("webinar %q of %s: bad %s %q", webinarID, account, f, v)
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
	out := make([]storage.Registrant, 0, len(m))
	for id, v := range m {
		ns, email, ok := strings.Cut(v, ":")
		t, err := strconv.ParseInt(ns, 10, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("registrant %q of webinar %q of %s: bad record %q", id, webinarID, account, v)
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

// AttendeeByID reads an attendee by id with its orders, in one script call.
func (l *Ledger) AttendeeByID(ctx context.Context, account, id string) (storage.Attendee, error) {
	if !keyable(account) || id == "" {
		return storage.Attendee{}, fmt.Errorf("attendee of %s: %w", account, storage.ErrNotFound)
	}
	v, err := l.attendee.Run(ctx, l.c, []string{accountKey(account)}, hx(id)).Slice()
	if err != nil {
		return storage.Attendee{}, wrap("cannot read attendee of "+account, err)
	}
	if len(v) == 0 {
		return storage.Attendee{}, fmt.Errorf("attendee of %s: %w", account, storage.ErrNotFound)
	}
	a, err := decodeAttendee(v)
	if err != nil {
		return storage.Attendee{}, fmt.Errorf("cannot decode attendee %s of %s: %w", id, account, err)
	}
	return a, nil
}

// decodeAttendee decodes the reply of attendee.lua.
func decodeAttendee(v []any) (storage.Attendee, error) {
	rec, err := fields(v[0])
	if err != nil {
		return storage.Attendee{}, err
	}
	a := storage.Attendee{ID: rec["id"], Email: rec["em"]}
	for f, val := range rec {
		switch {
		case f == "n":
			if a.Orders, err = strconv.ParseInt(val, 10, 64); err != nil {
				return a, fmt.Errorf("bad orders %q", val)
			}
		case strings.HasPrefix(f, "l:"):
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return a, fmt.Errorf("bad LTV %q", val)
			}
			if n != 0 {
				if a.LTV == nil {
					a.LTV = map[string]attribution.Micros{}
				}
				a.LTV[f[2:]] = attribution.Micros(n)
			}
		case f == "acq":
			if err := json.Unmarshal([]byte(val), &a.Acquisition); err != nil {
				return a, fmt.Errorf("bad acquisition %q", val)
			}
		case strings.HasPrefix(f, "w:"):
			a.Webinars = append(a.Webinars, f[2:])
		}
	}
	slices.Sort(a.Webinars)
	for _, ov := range v[1:] {
		m, err := fields(ov)
		if err != nil {
			return a, err
		}
		o, err := decodeOrder(m)
		if err != nil {
			return a, err
		}
		a.OrderList = append(a.OrderList, o)
	}
	slices.SortStableFunc(a.OrderList, func(x, y storage.Order) int {
		return cmp.Or(x.FirstSeen.Compare(y.FirstSeen), strings.Compare(x.Key, y.Key))
	})
	return a, nil
}

// fields turns a flat field/value reply into a map.
func fields(v any) (map[string]string, error) {
	list, ok := v.([]any)
	if !ok || len(list)%2 != 0 {
		return nil, fmt.Errorf("unexpected reply %T", v)
	}
	m := make(map[string]string, len(list)/2)
	for i := 0; i < len(list); i += 2 {
		k, _ := list[i].(string)
		val, _ := list[i+1].(string)
		m[k] = val
	}
	return m, nil
}

func decodeOrder(m map[string]string) (storage.Order, error) {
	o := storage.Order{Key: m["k"], OrderID: m["id"], Currency: m["cur"], AttendeeID: m["att"],
		ProductID: m["pid"], ProductName: m["pn"], Source: m["src"]}
	amt, err1 := strconv.ParseInt(m["amt"], 10, 64)
	fs, err2 := strconv.ParseInt(m["fs"], 10, 64)
	ls, err3 := strconv.ParseInt(m["ls"], 10, 64)
	if err := errors.Join(err1, err2, err3, json.Unmarshal([]byte(m["w"]), &o.Webinars)); err != nil {
		return o, fmt.Errorf("bad order %q: %w", o.Key, err)
	}
	o.Amount = attribution.Micros(amt)
	o.FirstSeen, o.LastSeen = time.Unix(0, fs).UTC(), time.Unix(0, ls).UTC()
	return o, nil
}
