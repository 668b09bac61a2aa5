package redisledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/pixelpost/pixelpost/storage"
)

var _ storage.StateDumper = (*Ledger)(nil)

// dumpScanCount is how many keys one SCAN step of a dump looks at.
const dumpScanCount = 5000

// DumpAccount reads everything of an account (storage.StateDumper): SCAN
// finds the account's keys on the node of its slot, one pipeline reads
// them all (attendees through attendee.lua, as AttendeeByID reads them),
// and the ledger's own decoders read the values. Hit ids and their
// results (hb:, rb:, hb-since and the earlier h:, hr:) are bookkeeping
// and left out. A key the dump cannot place (an unknown kind, totals of a
// webinar that is not listed) is an error: a layout change must teach the
// dump, or a rule leaves strays. Not a consistent snapshot under
// concurrent writes; it costs a scan of the node's keyspace.
func (l *Ledger) DumpAccount(ctx context.Context, account string) (storage.AccountState, error) {
	s, err := l.dumpAccount(ctx, account)
	if err != nil {
		return storage.AccountState{}, fmt.Errorf("cannot dump account %q: %w", account, err)
	}
	s.Normalize()
	return s, nil
}

func (l *Ledger) dumpAccount(ctx context.Context, account string) (storage.AccountState, error) {
	var s storage.AccountState
	a, err := l.Account(ctx, account)
	if err != nil {
		return s, err
	}
	s = storage.AccountState{
		Account:        a,
		Webinars:       map[string]storage.WebinarState{},
		Tags:           map[string][]string{},
		Orders:         map[string]storage.Order{},
		Attendees:      map[string]storage.AttendeeState{},
		OrphanProfiles: map[string]map[string]string{},
		Cookies:        map[string]string{},
		Clicks:         map[string]storage.ClickRec{},
		Conversions:    map[string]storage.ConvRec{},
		ClickTies:      map[string][]string{},
		Configs:        map[string]map[string]string{},
		Claims:         map[string][]string{},
	}
	ws, err := l.Webinars(ctx, account)
	if err != nil {
		return s, err
	}
	webinarOf := map[string]string{} // hx(webinar) -> webinar
	for _, w := range ws {
		webinarOf[hx(w.ID)] = w.ID
		s.Webinars[w.ID] = storage.WebinarState{Name: w.Name, Tags: w.Tags}
	}
	if s.Erased, err = l.Erased(ctx, account); err != nil {
		return s, err
	}
	keys, node, err := l.accountKeys(ctx, account)
	if err != nil {
		return s, err
	}
	cmds, err := l.readKeys(ctx, node, account, keys)
	if err != nil {
		return s, err
	}
	p := keyPrefix(account)
	profiles := map[string]map[string]string{} // by attendee id hash
	for i, key := range keys {
		kind, h, _ := strings.Cut(strings.TrimPrefix(key, p), ":")
		if err := dumpKey(&s, kind, h, cmds[i], webinarOf, profiles); err != nil {
			return s, fmt.Errorf("key %s: %w", key, err)
		}
	}
	// Converted attendees: the w:<webinar> fields of attendee records.
	idOf := map[string]string{}
	for id, a := range s.Attendees {
		idOf[hx(id)] = id
		for _, w := range a.Webinars {
			ws, ok := s.Webinars[w]
			if !ok {
				return s, fmt.Errorf("attendee %s converted for webinar %q, which is not listed", id, w)
			}
			ws.Converted = append(ws.Converted, id)
			s.Webinars[w] = ws
		}
	}
	for h, prof := range profiles {
		id, ok := idOf[h]
		if !ok {
			s.OrphanProfiles[h] = prof
			continue
		}
		a := s.Attendees[id]
		a.Profile = prof
		s.Attendees[id] = a
	}
	return s, l.dumpClaims(ctx, account, &s)
}

// accountKeys lists the account's keys (each once, sorted) and returns the
// node that holds them.
func (l *Ledger) accountKeys(ctx context.Context, account string) ([]string, redis.Cmdable, error) {
	node := redis.Cmdable(l.c)
	if cc, ok := l.c.(*redis.ClusterClient); ok {
		n, err := cc.MasterForKey(ctx, accountKey(account))
		if err != nil {
			return nil, nil, wrap("cannot find the node of "+account, err)
		}
		node = n
	}
	seen := map[string]bool{}
	iter := node.Scan(ctx, 0, globEscape(keyPrefix(account))+"*", dumpScanCount).Iterator()
	for iter.Next(ctx) {
		seen[iter.Val()] = true
	}
	if err := iter.Err(); err != nil {
		return nil, nil, wrap("cannot list the keys of "+account, err)
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, node, nil
}

// readKeys reads every key in one pipeline on the account's node, each
// as its kind is stored (nil for the keys read otherwise or left out).
func (l *Ledger) readKeys(ctx context.Context, node redis.Cmdable, account string, keys []string) ([]redis.Cmder, error) {
	p := keyPrefix(account)
	for attempt := 0; ; attempt++ {
		cmds := make([]redis.Cmder, len(keys))
		_, err := node.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for i, key := range keys {
				kind, h, _ := strings.Cut(strings.TrimPrefix(key, p), ":")
				switch kind {
				case "t":
					cmds[i] = pipe.ZRange(ctx, key, 0, -1)
				case "k":
					cmds[i] = pipe.Get(ctx, key)
				case "ak":
					cmds[i] = pipe.SMembers(ctx, key)
				case "a":
					cmds[i] = l.attendee.EvalSha(ctx, pipe, []string{accountKey(account)}, h)
				case "ws", "wr", "cookies", "o", "oa", "prof", "cv", "cfg":
					cmds[i] = pipe.HGetAll(ctx, key)
				}
			}
			return nil
		})
		if err != nil && attempt == 0 && redis.HasErrorPrefix(err, "NOSCRIPT") {
			if err := l.attendee.Load(ctx, node).Err(); err != nil {
				return nil, wrap("cannot load the attendee script", err)
			}
			continue
		}
		if err != nil && !errors.Is(err, redis.Nil) { // a key gone since the scan: skipped
			return nil, wrap("cannot read the keys of "+account, err)
		}
		return cmds, nil
	}
}

// dumpKey places the value of one key (of kind and id hash h) in s.
func dumpKey(s *storage.AccountState, kind, h string, cmd redis.Cmder, webinarOf map[string]string, profiles map[string]map[string]string) error {
	hash := func() map[string]string { return cmd.(*redis.MapStringStringCmd).Val() }
	switch kind {
	case "account", "webinars", "erased", "hb", "rb", "hb-since", "h", "hr":
		// Read by the ledger's reads, or bookkeeping.
	case "ws", "wr":
		w, ok := webinarOf[h]
		if !ok {
			return fmt.Errorf("it belongs to no listed webinar")
		}
		ws := s.Webinars[w]
		var err error
		if kind == "ws" {
			ws.Stats, err = decodeStats(hash())
		} else {
			ws.Registrants, err = decodeRegistrants(hash())
		}
		if err != nil {
			return err
		}
		s.Webinars[w] = ws
	case "t":
		s.Tags[h] = cmd.(*redis.StringSliceCmd).Val()
	case "cookies":
		for cookie, link := range hash() {
			if len(link) < 40 {
				return fmt.Errorf("cookie %q: bad link %q", cookie, link)
			}
			s.Cookies[cookie] = link[40:]
		}
	case "a":
		v, err := cmd.(*redis.Cmd).Slice()
		if err != nil || len(v) == 0 {
			return fmt.Errorf("cannot read attendee: %v (%d parts)", err, len(v))
		}
		a, err := decodeAttendee(v)
		if err != nil {
			return err
		}
		if hx(a.ID) != h {
			return fmt.Errorf("the record holds id %q", a.ID)
		}
		s.Attendees[a.ID] = storage.AttendeeState{Attendee: a}
	case "o", "oa":
		o, err := decodeOrder(hash())
		if err != nil {
			return err
		}
		if kind == "o" {
			s.Orders[o.Key] = o
		} else {
			s.Replaced = append(s.Replaced, o)
		}
	case "prof":
		profiles[h] = hash()
	case "k":
		if errors.Is(cmd.Err(), redis.Nil) {
			return nil // expired since the scan
		}
		var c storage.ClickRec
		if err := json.Unmarshal([]byte(cmd.(*redis.StringCmd).Val()), &c); err != nil {
			return err
		}
		s.Clicks[h] = c
	case "cv":
		m := hash()
		v, err := strconv.ParseInt(m["v"], 10, 64)
		if err != nil {
			return fmt.Errorf("bad value %q", m["v"])
		}
		s.Conversions[h] = storage.ConvRec{Status: m["st"], RawStatus: m["raw"], Value: v, Currency: m["cur"]}
	case "ak":
		// Click ids; an earlier build wrote the click key's <h>.
		for _, m := range cmd.(*redis.StringSliceCmd).Val() {
			if !isHex40(m) {
				m = hx(m)
			}
			s.ClickTies[h] = append(s.ClickTies[h], m)
		}
	case "cfg":
		s.Configs[h] = hash()
	default:
		return fmt.Errorf("unknown kind of key")
	}
	return nil
}

// dumpClaims lists the global ids the account owns (pp:routes:<kind>, one
// key per kind, outside the account's slot).
func (l *Ledger) dumpClaims(ctx context.Context, account string, s *storage.AccountState) error {
	kinds := make([]string, 0, len(storage.GlobalKinds))
	for kind := range storage.GlobalKinds {
		kinds = append(kinds, kind)
	}
	cmds := make([]*redis.MapStringStringCmd, len(kinds))
	_, err := l.c.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, kind := range kinds {
			cmds[i] = pipe.HGetAll(ctx, routesKey(kind))
		}
		return nil
	})
	if err != nil {
		return wrap("cannot read the owners of global ids", err)
	}
	for i, kind := range kinds {
		for id, owner := range cmds[i].Val() {
			if owner == account {
				s.Claims[kind] = append(s.Claims[kind], id)
			}
		}
	}
	return nil
}

// isHex40 reports whether s is a SHA-1 hex (a click id is not: erase.lua
// tells them apart the same way).
func isHex40(s string) bool {
	if len(s) != 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
