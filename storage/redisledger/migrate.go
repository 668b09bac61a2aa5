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
		// One pass over the node's keys: each key of an account still in
		// the earlier layout is converted, then the accounts are marked.
		layouts := map[string]bool{} // account -> converted already
		var todo []string
		iter := node.Scan(ctx, 0, "pp:{*", 1000).Iterator()
		for iter.Next(ctx) {
			k := iter.Val()
			account, sfx, ok := splitKey(k)
			if !ok {
				continue
			}
			done, seen := layouts[account]
			if !seen {
				layout, err := node.HGet(ctx, keyPrefix(account)+sfxAccount, "layout").Result()
				if err != nil && !errors.Is(err, redis.Nil) {
					return err
				}
				done = layout == layoutVersion
				layouts[account] = done
				if !done {
					todo = append(todo, account)
				}
			}
			if done {
				continue
			}
			if err := migrateKey(ctx, node, k, sfx, &st); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
		if err := iter.Err(); err != nil {
			return err
		}
		for _, account := range todo {
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

// splitKey splits pp:{<account>}:<suffix>.
func splitKey(k string) (account, sfx string, ok bool) {
	rest, ok := strings.CutPrefix(k, "pp:{")
	if !ok {
		return "", "", false
	}
	account, sfx, ok = strings.Cut(rest, "}:")
	return account, sfx, ok && keyable(account)
}

// migrateKey converts one key of an account in the earlier layout.
func migrateKey(ctx context.Context, node *redis.Client, k, sfx string, st *MigrateStats) error {
	switch {
	case strings.HasPrefix(sfx, "oa:"):
		return migrateOrder(ctx, node, k, false, st)
	case strings.HasPrefix(sfx, "o:"):
		return migrateOrder(ctx, node, k, true, st)
	case strings.HasPrefix(sfx, "a:"):
		return migrateAttendee(ctx, node, strings.TrimSuffix(k, sfx), k, st)
	case strings.HasPrefix(sfx, "cv:"):
		return migrateConversion(ctx, node, k, st)
	case sfx == sfxCookies:
		return migrateCookies(ctx, node, k, st)
	}
	return nil
}

// migrateOrder turns an order's hash (k, amt, cur, w, att, src, fs, ls and
// the labels id, pid, pn) into its record: versioned for a current order,
// bare for a replaced one.
func migrateOrder(ctx context.Context, node *redis.Client, k string, versioned bool, st *MigrateStats) error {
	if typ, err := node.Type(ctx, k).Result(); err != nil || typ != "hash" {
		return err // converted already
	}
	m, err := node.HGetAll(ctx, k).Result()
	if err != nil {
		return err
	}
	o, err := decodeLegacyOrder(m)
	if err != nil {
		return err
	}
	var prefix []byte
	if versioned {
		prefix = []byte(newToken())
	}
	if err := node.Set(ctx, k, decide.AppendOrder(prefix, o), keepTTL(ctx, node, k)).Err(); err != nil {
		return err
	}
	st.Orders++
	return nil
}

// keepTTL is the key's remaining time to live for SET, 0 (none) when it
// has none.
func keepTTL(ctx context.Context, node *redis.Client, k string) time.Duration {
	if d, err := node.PTTL(ctx, k).Result(); err == nil && d > 0 {
		return d
	}
	return 0
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

// migrateAttendee turns an attendee's fields (id, em, n, l:<CUR>, acq,
// w:<webinar>, o:<order key h>:<first seen>) into its record r and
// compact order list; pv marks a profile it has.
func migrateAttendee(ctx context.Context, node *redis.Client, p, k string, st *MigrateStats) error {
	m, err := node.HGetAll(ctx, k).Result()
	if err != nil || m["r"] != "" {
		return err // converted already
	}
	a := &decide.Attendee{Email: m["em"]}
	var list []string
	for f, v := range m {
		switch {
		case f == "n":
			if a.Orders, err = strconv.ParseInt(v, 10, 64); err != nil {
				return fmt.Errorf("bad orders %q", v)
			}
		case strings.HasPrefix(f, "l:"):
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("bad LTV %q", v)
			}
			if n != 0 {
				if a.LTV == nil {
					a.LTV = decide.Money{}
				}
				a.LTV[f[2:]] = attribution.Micros(n)
			}
		case f == "acq":
			if err := json.Unmarshal([]byte(v), &a.Acquisition); err != nil {
				return fmt.Errorf("bad acquisition %q", v)
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
		raw, err1 := hex.DecodeString(parts[1])
		fs, err2 := strconv.ParseInt(parts[len(parts)-1], 10, 64)
		if len(parts) != 3 || err1 != nil || err2 != nil || len(raw) != 20 {
			return fmt.Errorf("bad order list entry %q", f)
		}
		args = append(args, orderListFieldRaw(raw, fs), "")
	}
	prof, err := node.Exists(ctx, p+"prof:"+strings.TrimPrefix(k, p+"a:")).Result()
	if err != nil {
		return err
	}
	if prof == 1 || m["pf"] != "" {
		args = append(args, "pv", newToken())
	}
	_, err = node.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Del(ctx, k)
		pipe.HSet(ctx, k, args...)
		return nil
	})
	if err == nil {
		st.Attendees++
	}
	return err
}

// migrateConversion turns a conversion's hash (st, raw, v, cur) into its
// versioned record, keeping its time to live.
func migrateConversion(ctx context.Context, node *redis.Client, k string, st *MigrateStats) error {
	if typ, err := node.Type(ctx, k).Result(); err != nil || typ != "hash" {
		return err
	}
	m, err := node.HGetAll(ctx, k).Result()
	if err != nil {
		return err
	}
	v, err := strconv.ParseInt(m["v"], 10, 64)
	if err != nil {
		return fmt.Errorf("bad conversion value %q", m["v"])
	}
	rec, _ := json.Marshal(storage.ConvRec{Status: m["st"], RawStatus: m["raw"], Value: v, Currency: m["cur"]})
	if err := node.Set(ctx, k, newToken()+string(rec), keepTTL(ctx, node, k)).Err(); err != nil {
		return err
	}
	st.Conversions++
	return nil
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
