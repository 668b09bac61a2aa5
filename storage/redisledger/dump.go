package redisledger

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/pixelpost/pixelpost/storage"
)

var _ storage.StateDumper = (*Ledger)(nil)

// dumpScanCount is how many keys one SCAN step of a dump looks at.
const dumpScanCount = 2000

// DumpAccount reads everything of an account (storage.StateDumper): SCAN
// finds the account's keys on the node of its slot, and each is read with
// the ledger's own reads where there is one. Hit ids and their results
// (hb:, rb:, hb-since and the earlier h:, hr:) are bookkeeping and left
// out. A key the dump cannot place (an unknown kind, totals of a webinar
// that is not listed) is an error: a layout change must teach the dump,
// or a rule leaves strays. Not a consistent snapshot under concurrent
// writes; it costs a scan of the node's keyspace.
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
	keys, node, err := l.accountKeys(ctx, account)
	if err != nil {
		return s, err
	}
	ws, err := l.Webinars(ctx, account)
	if err != nil {
		return s, err
	}
	webinarOf := map[string]string{} // hx(webinar) -> webinar
	for _, w := range ws {
		webinarOf[hx(w.ID)] = w.ID
		st, err := l.WebinarStats(ctx, account, w.ID)
		if err != nil {
			return s, err
		}
		regs, err := l.Registrants(ctx, account, w.ID)
		if err != nil {
			return s, err
		}
		s.Webinars[w.ID] = storage.WebinarState{Name: w.Name, Tags: w.Tags, Stats: st, Registrants: regs}
	}
	if s.Erased, err = l.Erased(ctx, account); err != nil {
		return s, err
	}
	p := keyPrefix(account)
	var profiles []string // attendee id hashes
	for _, key := range keys {
		kind, h, _ := strings.Cut(strings.TrimPrefix(key, p), ":")
		switch kind {
		case "account", "webinars", "erased", "hb", "rb", "hb-since", "h", "hr":
			// Read above, or bookkeeping.
		case "ws", "wr":
			if _, ok := webinarOf[h]; !ok {
				return s, fmt.Errorf("key %s belongs to no listed webinar", key)
			}
		case "t":
			members, err := node.ZRange(ctx, key, 0, -1).Result()
			if err != nil {
				return s, wrap("cannot read "+key, err)
			}
			s.Tags[h] = members
		case "cookies":
			links, err := node.HGetAll(ctx, key).Result()
			if err != nil {
				return s, wrap("cannot read "+key, err)
			}
			for cookie, link := range links {
				if len(link) < 40 {
					return s, fmt.Errorf("cookie %q: bad link %q", cookie, link)
				}
				s.Cookies[cookie] = link[40:]
			}
		case "a":
			if err := l.dumpAttendee(ctx, account, h, &s); err != nil {
				return s, err
			}
		case "o", "oa":
			m, err := node.HGetAll(ctx, key).Result()
			if err != nil {
				return s, wrap("cannot read "+key, err)
			}
			o, err := decodeOrder(m)
			if err != nil {
				return s, err
			}
			if kind == "o" {
				s.Orders[o.Key] = o
			} else {
				s.Replaced = append(s.Replaced, o)
			}
		case "prof":
			profiles = append(profiles, h)
		case "k":
			v, err := node.Get(ctx, key).Bytes()
			if err != nil {
				return s, wrap("cannot read "+key, err)
			}
			var c storage.ClickRec
			if err := json.Unmarshal(v, &c); err != nil {
				return s, fmt.Errorf("click %s: %w", key, err)
			}
			s.Clicks[h] = c
		case "cv":
			m, err := node.HGetAll(ctx, key).Result()
			if err != nil {
				return s, wrap("cannot read "+key, err)
			}
			v, err := strconv.ParseInt(m["v"], 10, 64)
			if err != nil {
				return s, fmt.Errorf("conversion %s: bad value %q", key, m["v"])
			}
			s.Conversions[h] = storage.ConvRec{Status: m["st"], RawStatus: m["raw"], Value: v, Currency: m["cur"]}
		case "ak":
			clicks, err := node.SMembers(ctx, key).Result()
			if err != nil {
				return s, wrap("cannot read "+key, err)
			}
			s.ClickTies[h] = clicks
		case "cfg":
			docs, err := node.HGetAll(ctx, key).Result()
			if err != nil {
				return s, wrap("cannot read "+key, err)
			}
			s.Configs[h] = docs
		default:
			return s, fmt.Errorf("unknown key %s", key)
		}
	}
	// Converted attendees: the w:<webinar> fields of attendee records.
	for id, a := range s.Attendees {
		for _, w := range a.Webinars {
			ws, ok := s.Webinars[w]
			if !ok {
				return s, fmt.Errorf("attendee %s converted for webinar %q, which is not listed", id, w)
			}
			ws.Converted = append(ws.Converted, id)
			s.Webinars[w] = ws
		}
	}
	if err := l.dumpProfiles(ctx, node, p, profiles, &s); err != nil {
		return s, err
	}
	for kind := range storage.GlobalKinds {
		owners, err := l.c.HGetAll(ctx, routesKey(kind)).Result()
		if err != nil {
			return s, wrap("cannot read the owners of "+kind, err)
		}
		for id, owner := range owners {
			if owner == account {
				s.Claims[kind] = append(s.Claims[kind], id)
			}
		}
	}
	return s, nil
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

// dumpAttendee reads the attendee of id hash h as AttendeeByID does.
func (l *Ledger) dumpAttendee(ctx context.Context, account, h string, s *storage.AccountState) error {
	v, err := l.attendee.Run(ctx, l.c, []string{accountKey(account)}, h).Slice()
	if err != nil {
		return wrap("cannot read attendee "+h, err)
	}
	if len(v) == 0 {
		return fmt.Errorf("attendee %s vanished during the dump", h)
	}
	a, err := decodeAttendee(v)
	if err != nil {
		return fmt.Errorf("cannot decode attendee %s: %w", h, err)
	}
	if hx(a.ID) != h {
		return fmt.Errorf("attendee record %s holds id %q", h, a.ID)
	}
	s.Attendees[a.ID] = storage.AttendeeState{Attendee: a}
	return nil
}

// dumpProfiles reads the profiles (prof:<h>) onto their attendees, or as
// orphans when no attendee record has that id.
func (l *Ledger) dumpProfiles(ctx context.Context, node redis.Cmdable, prefix string, hashes []string, s *storage.AccountState) error {
	idOf := map[string]string{}
	for id := range s.Attendees {
		idOf[hx(id)] = id
	}
	for _, h := range hashes {
		prof, err := node.HGetAll(ctx, prefix+"prof:"+h).Result()
		if err != nil {
			return wrap("cannot read profile "+h, err)
		}
		id, ok := idOf[h]
		if !ok {
			s.OrphanProfiles[h] = prof
			continue
		}
		a := s.Attendees[id]
		a.Profile = prof
		s.Attendees[id] = a
	}
	return nil
}
