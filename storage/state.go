package storage

import (
	"cmp"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
)

// StateDumper is a ledger that can read the whole state of one account
// (storage/ledgertest compares ledgers with it). A dump reads a store
// that is not being written: it is not a consistent snapshot under
// concurrent writes, and on Redis it scans the keyspace. For tests and
// tools, never on a hot path.
type StateDumper interface {
	DumpAccount(ctx context.Context, account string) (AccountState, error)
}

// AccountState is everything a user of an account could observe, now or
// through later operations, in one canonical form: two ledgers that
// followed the same rules from the same ops have equal states
// (reflect.DeepEqual) once Normalize has run, whatever their layouts.
// Bookkeeping of an implementation's own is left out: remembered hit ids
// and their results, TTLs, layout marks.
//
// Some stores keep an id only as a hash in a key name (Redis: clicks,
// conversions, tags, the clicks an attendee converted): those maps are
// keyed by HashID of the id, in every implementation.
type AccountState struct {
	Account Account
	// Webinars listed (configured or first seen in a hit), by id, with
	// their totals, registrants and converted attendees.
	Webinars map[string]WebinarState
	// Tags is the tag index: HashID(tag) -> its webinars, sorted.
	Tags map[string][]string
	// Orders are the current orders, by order key.
	Orders map[string]Order
	// Replaced are the orders a sighting after their window replaced, kept
	// as last seen for their attendee; by attendee, first seen, key.
	Replaced []Order
	// Attendees by id, each with its orders as its reads resolve them.
	Attendees map[string]AttendeeState
	// Profiles of ids with no attendee record: HashID(attendee id) -> fields.
	OrphanProfiles map[string]map[string]string
	// Cookies: cookie id -> the attendee id it is linked to.
	Cookies map[string]string
	// Clicks by HashID(click id); Conversions by HashID(ConvKey).
	Clicks      map[string]ClickRec
	Conversions map[string]ConvRec
	// ClickTies: HashID(attendee id) -> HashID of the clicks it converted
	// (the conversion pixel), sorted: what its erasure strips.
	ClickTies map[string][]string
	// Erased: the tombstones, attendee id -> erasure time.
	Erased map[string]time.Time
	// Configs: kind -> id -> JSON document.
	Configs map[string]map[string]string
	// Claims: global kind -> the ids of it this account owns, sorted.
	Claims map[string][]string
}

// WebinarState is one listed webinar.
type WebinarState struct {
	Name  string
	Tags  []string // sorted
	Stats WebinarStats
	// Registrants by attendee id.
	Registrants []Registrant
	// Converted: the attendees with an order credited to it, sorted.
	Converted []string
}

// AttendeeState is one attendee record with its lead profile.
type AttendeeState struct {
	Attendee
	Profile map[string]string
}

// HashID is the form of an id a store keeps only hashed (lower-case SHA-1
// hex), as AccountState keys it.
func HashID(id string) string {
	sum := sha1.Sum([]byte(id))
	return hex.EncodeToString(sum[:])
}

// Normalize puts s in its canonical form: empty maps and slices nil, zero
// money totals dropped, times in UTC without monotonic readings, lists in
// their documented orders.
func (s *AccountState) Normalize() {
	for id, w := range s.Webinars {
		w.Tags = nilIfEmpty(w.Tags)
		slices.Sort(w.Tags)
		w.Stats.Revenue = normMoney(w.Stats.Revenue)
		for i := range w.Registrants {
			w.Registrants[i].RegisteredAt = normTime(w.Registrants[i].RegisteredAt)
		}
		w.Registrants = nilIfEmpty(w.Registrants)
		slices.SortFunc(w.Registrants, func(a, b Registrant) int { return strings.Compare(a.AttendeeID, b.AttendeeID) })
		w.Converted = nilIfEmpty(w.Converted)
		slices.Sort(w.Converted)
		s.Webinars[id] = w
	}
	for k, ws := range s.Tags {
		slices.Sort(ws)
		s.Tags[k] = ws
	}
	for k, o := range s.Orders {
		s.Orders[k] = normOrder(o)
	}
	for i, o := range s.Replaced {
		s.Replaced[i] = normOrder(o)
	}
	slices.SortFunc(s.Replaced, func(a, b Order) int {
		return cmp.Or(strings.Compare(a.AttendeeID, b.AttendeeID), a.FirstSeen.Compare(b.FirstSeen), strings.Compare(a.Key, b.Key))
	})
	for id, a := range s.Attendees {
		a.LTV = normMoney(a.LTV)
		a.Webinars = nilIfEmpty(a.Webinars)
		a.Acquisition = nilIfEmpty(a.Acquisition)
		a.OrderList = nilIfEmpty(a.OrderList)
		for i, o := range a.OrderList {
			a.OrderList[i] = normOrder(o)
		}
		a.Profile = nilIfEmptyMap(a.Profile)
		s.Attendees[id] = a
	}
	for k, p := range s.OrphanProfiles {
		if len(p) == 0 {
			delete(s.OrphanProfiles, k)
		}
	}
	for k, c := range s.Clicks {
		c.Macros = nilIfEmptyMap(c.Macros)
		s.Clicks[k] = c
	}
	for k, ids := range s.ClickTies {
		slices.Sort(ids)
		s.ClickTies[k] = ids
	}
	for k, t := range s.Erased {
		s.Erased[k] = normTime(t)
	}
	for k, ids := range s.Claims {
		slices.Sort(ids)
		s.Claims[k] = ids
	}
	s.Webinars = nilIfEmptyMap(s.Webinars)
	s.Tags = nilIfEmptyMap(s.Tags)
	s.Orders = nilIfEmptyMap(s.Orders)
	s.Replaced = nilIfEmpty(s.Replaced)
	s.Attendees = nilIfEmptyMap(s.Attendees)
	s.OrphanProfiles = nilIfEmptyMap(s.OrphanProfiles)
	s.Cookies = nilIfEmptyMap(s.Cookies)
	s.Clicks = nilIfEmptyMap(s.Clicks)
	s.Conversions = nilIfEmptyMap(s.Conversions)
	s.ClickTies = nilIfEmptyMap(s.ClickTies)
	s.Erased = nilIfEmptyMap(s.Erased)
	for k, docs := range s.Configs {
		if len(docs) == 0 {
			delete(s.Configs, k)
		}
	}
	s.Configs = nilIfEmptyMap(s.Configs)
	s.Claims = nilIfEmptyMap(s.Claims)
}

func normOrder(o Order) Order {
	o.Webinars = nilIfEmpty(o.Webinars)
	o.FirstSeen, o.LastSeen = normTime(o.FirstSeen), normTime(o.LastSeen)
	return o
}

func normTime(t time.Time) time.Time { return time.Unix(0, t.UnixNano()).UTC() }

func normMoney(m map[string]attribution.Micros) map[string]attribution.Micros {
	maps.DeleteFunc(m, func(_ string, v attribution.Micros) bool { return v == 0 })
	return nilIfEmptyMap(m)
}

func nilIfEmpty[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}

func nilIfEmptyMap[M ~map[K]V, K comparable, V any](m M) M {
	if len(m) == 0 {
		return nil
	}
	return m
}
