package redisledger

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/decide"
)

// MigrateStats counts what Migrate converted.
type MigrateStats struct {
	Accounts    int // accounts converted (those in layout 2 already are not counted)
	Orders      int // current and replaced orders
	Attendees   int
	Conversions int
	Cookies     int
}

// Migrate converts every account still in the layout of builds before
// layout 2 (keys.go) to it, in place: orders, replaced orders and
// conversions become versioned strings, attendees get their record field
// and compact order list, cookie links lose the attendee's h, and the
// account its layout mark and epoch, last (an interrupted migration is
// finished by the next run; an account converted already is left as it
// is). The hit ids and results earlier builds remembered stay where they
// are: they are still looked up for hits recorded before their log had an
// id, and expire on their own.
//
// Run it with every pixelpost node stopped (they drain their hits logs
// when stopped): an earlier build writing meanwhile would write the old
// layout into a converted account. Nodes of this build wait (their hits
// stay on disk) until their accounts are converted.
func (l *Ledger) Migrate(ctx context.Context, progress func(account string)) (MigrateStats, error) {
	var st MigrateStats
	scan := func(ctx context.Context, node *redis.Client) error {
		// One pass over the node's keys, a page at a time (reads and
		// writes pipelined): each key of an account still in the earlier
		// layout is converted, then the accounts are marked.
		m := migration{node: node, st: &st, done: map[string]bool{}}
		var cursor uint64
		for {
			keys, next, err := node.Scan(ctx, cursor, "pp:{*", 1000).Result()
			if err != nil {
				return err
			}
			if err := m.page(ctx, keys); err != nil {
				return err
			}
			if cursor = next; cursor == 0 {
				break
			}
		}
		for _, account := range m.todo {
			p := keyPrefix(account)
			if n, err := node.Exists(ctx, p+sfxAccount).Result(); err != nil || n == 0 {
				continue // keys of an account that is gone
			}
			_, err := node.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
				pipe.HSetNX(ctx, p+sfxAccount, "ep", newToken())
				pipe.HSet(ctx, p+sfxAccount, "layout", layoutVersion)
				return nil
			})
			if err != nil {
				return fmt.Errorf("account %s: %w", account, err)
			}
			st.Accounts++
			if progress != nil {
				progress(account)
			}
		}
		return nil
	}
	var err error
	switch c := l.c.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, scan)
	case *redis.Client:
		err = scan(ctx, c)
	default:
		err = fmt.Errorf("unsupported client %T", l.c)
	}
	if err != nil {
		return st, wrap("cannot migrate the ledger", err)
	}
	return st, nil
}

// migration is Migrate on one node.
type migration struct {
	node *redis.Client
	st   *MigrateStats
	done map[string]bool // account -> in layout 2 already
	todo []string        // accounts being converted
}

// splitKey splits pp:{<account>}:<suffix>.
func splitKey(k string) (account, sfx string, ok bool) {
	rest, ok := strings.CutPrefix(k, "pp:{")
	if !ok {
		return "", "", false
	}
	account, sfx, ok = strings.Cut(rest, "}:")
	return account, sfx, ok && keyable(account)
}

// converted are the records Migrate converts: orders, replaced orders,
// attendees and conversions (cookie links are one hash per account).
func converted(sfx string) bool {
	return strings.HasPrefix(sfx, "o:") || strings.HasPrefix(sfx, "oa:") || strings.HasPrefix(sfx, "a:") ||
		strings.HasPrefix(sfx, "cv:")
}

// page converts the keys of one SCAN page: their records read in two
// pipelines (type and time to live, then the hashes of the earlier
// layout), written in a third.
func (m *migration) page(ctx context.Context, keys []string) error {
	type item struct {
		key, sfx string
		typ      *redis.StatusCmd
		ttl      *redis.DurationCmd
		prof     *redis.IntCmd
		fields   *redis.MapStringStringCmd
	}
	var items []*item
	for _, k := range keys {
		account, sfx, ok := splitKey(k)
		if !ok {
			continue
		}
		done, seen := m.done[account]
		if !seen {
			layout, err := m.node.HGet(ctx, keyPrefix(account)+sfxAccount, "layout").Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
			done = layout == layoutVersion
			m.done[account] = done
			if !done {
				m.todo = append(m.todo, account)
			}
		}
		switch {
		case done:
		case sfx == sfxCookies:
			if err := migrateCookies(ctx, m.node, k, m.st); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		case converted(sfx):
			items = append(items, &item{key: k, sfx: sfx})
		}
	}
	if len(items) == 0 {
		return nil
	}
	_, err := m.node.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for _, it := range items {
			it.typ, it.ttl = pipe.Type(ctx, it.key), pipe.PTTL(ctx, it.key)
			if h, ok := strings.CutPrefix(it.sfx, "a:"); ok {
				it.prof = pipe.Exists(ctx, strings.TrimSuffix(it.key, it.sfx)+"prof:"+h)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	_, err = m.node.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for _, it := range items {
			if it.typ.Val() == "hash" { // converted ones are strings, or attendees with r
				it.fields = pipe.HGetAll(ctx, it.key)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	var bad error
	_, err = m.node.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for _, it := range items {
			if it.fields == nil {
				continue
			}
			if err := m.convert(ctx, pipe, it.key, it.sfx, it.fields.Val(), it.ttl.Val(), it.prof); err != nil {
				bad = fmt.Errorf("%s: %w", it.key, err)
				return bad
			}
		}
		return nil
	})
	if bad != nil {
		return bad
	}
	return err
}

// convert queues the writes that convert one record of the earlier
// layout, keeping its time to live.
func (m *migration) convert(ctx context.Context, pipe redis.Pipeliner, k, sfx string, fields map[string]string,
	ttl time.Duration, prof *redis.IntCmd) error {
	if ttl < 0 {
		ttl = 0 // none
	}
	switch {
	case strings.HasPrefix(sfx, "oa:"), strings.HasPrefix(sfx, "o:"):
		o, err := decodeLegacyOrder(fields)
		if err != nil {
			return err
		}
		var prefix []byte
		if strings.HasPrefix(sfx, "o:") {
			prefix = []byte(newToken()) // a current order is versioned
		}
		pipe.Set(ctx, k, decide.AppendOrder(prefix, o), ttl)
		m.st.Orders++
	case strings.HasPrefix(sfx, "cv:"):
		v, err := strconv.ParseInt(fields["v"], 10, 64)
		if err != nil {
			return fmt.Errorf("bad conversion value %q", fields["v"])
		}
		rec, _ := json.Marshal(storage.ConvRec{Status: fields["st"], RawStatus: fields["raw"], Value: v, Currency: fields["cur"]})
		pipe.Set(ctx, k, newToken()+string(rec), ttl)
		m.st.Conversions++
	case strings.HasPrefix(sfx, "a:"):
		if fields["r"] != "" {
			return nil // converted already
		}
		args, err := legacyAttendee(fields, prof != nil && prof.Val() == 1)
		if err != nil {
			return err
		}
		pipe.Del(ctx, k)
		pipe.HSet(ctx, k, args...)
		if ttl > 0 {
			pipe.PExpire(ctx, k, ttl)
		}
		m.st.Attendees++
	}
	return nil
}

// legacyAttendee converts an attendee's fields (id, em, n, l:<CUR>, acq,
// w:<webinar>, o:<order key h>:<first seen>, pf once it had a profile)
// into the arguments of HSET of its record r, compact order list and,
// with a profile, pv.
func legacyAttendee(m map[string]string, hasProfile bool) ([]any, error) {
	a := &decide.Attendee{Email: m["em"]}
	var list []string
	var err error
	for f, v := range m {
		switch {
		case f == "n":
			if a.Orders, err = strconv.ParseInt(v, 10, 64); err != nil {
				return nil, fmt.Errorf("bad orders %q", v)
			}
		case strings.HasPrefix(f, "l:"):
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("bad LTV %q", v)
			}
			if n != 0 {
				if a.LTV == nil {
					a.LTV = decide.Money{}
				}
				a.LTV[f[2:]] = attribution.Micros(n)
			}
		case f == "acq":
			if err := json.Unmarshal([]byte(v), &a.Acquisition); err != nil {
				return nil, fmt.Errorf("bad acquisition %q", v)
			}
		case strings.HasPrefix(f, "w:"):
			a.Webinars = append(a.Webinars, f[2:])
		case strings.HasPrefix(f, "o:"):
			list = append(list, f)
		}
	}
	slices.Sort(a.Webinars)
	args := []any{"r", attendeeValue(newToken(), m["id"], a)}
	for _, f := range list {
		parts := strings.Split(f, ":") // o, key h, first seen
		if len(parts) != 3 {
			return nil, fmt.Errorf("bad order list entry %q", f)
		}
		raw, err1 := hex.DecodeString(parts[1])
		fs, err2 := strconv.ParseInt(parts[2], 10, 64)
		if err1 != nil || err2 != nil || len(raw) != 20 {
			return nil, fmt.Errorf("bad order list entry %q", f)
		}
		args = append(args, orderListFieldRaw(raw, fs), "")
	}
	if hasProfile || m["pf"] != "" {
		args = append(args, "pv", newToken())
	}
	return args, nil
}

func decodeLegacyOrder(m map[string]string) (*decide.Order, error) {
	o := &decide.Order{Key: m["k"], OrderID: m["id"], Currency: m["cur"], AttendeeID: m["att"],
		ProductID: m["pid"], ProductName: m["pn"], Source: m["src"]}
	amt, err1 := strconv.ParseInt(m["amt"], 10, 64)
	fs, err2 := strconv.ParseInt(m["fs"], 10, 64)
	ls, err3 := strconv.ParseInt(m["ls"], 10, 64)
	if err := errors.Join(err1, err2, err3, json.Unmarshal([]byte(m["w"]), &o.Webinars)); err != nil {
		return nil, fmt.Errorf("bad order %q: %w", o.Key, err)
	}
	o.Amount, o.FirstSeen, o.LastSeen = attribution.Micros(amt), fs, ls
	return o, nil
}

// migrateCookies drops the attendee's h earlier builds put before the
// attendee id of each cookie link.
func migrateCookies(ctx context.Context, node *redis.Client, k string, st *MigrateStats) error {
	iter := node.HScan(ctx, k, 0, "", cookieScanCount).Iterator()
	for iter.Next(ctx) {
		cookie := iter.Val()
		if !iter.Next(ctx) {
			break
		}
		link := iter.Val()
		if len(link) > 40 && hx(link[40:]) == link[:40] {
			if err := node.HSet(ctx, k, cookie, link[40:]).Err(); err != nil {
				return err
			}
			st.Cookies++
		}
	}
	return iter.Err()
}
