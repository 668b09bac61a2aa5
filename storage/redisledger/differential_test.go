package redisledger

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/embedded"
)

// TestSameAsEmbedded feeds random op sequences over small id spaces (so
// orders, attendees, cookies and tags collide often) to this ledger and to
// the embedded one, which calls attribution.Sight itself, and compares
// every result and every read: the Lua rules must be Sight's. Statuses
// and reasons seen are counted, so a generator that stops exercising a
// rule shows.
func TestSameAsEmbedded(t *testing.T) {
	servers(t, func(t *testing.T, rl *Ledger) {
		el, err := embedded.Open(filepath.Join(t.TempDir(), "ledger.db"), embedded.Config{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		defer el.Close()
		seen := map[string]int{}
		for seed := range uint64(12) {
			t.Run("seed="+strconv.FormatUint(seed, 10), func(t *testing.T) {
				for k, n := range differential(t, seed, el, rl) {
					seen[k] += n
				}
			})
		}
		for _, k := range []string{"accepted/", "updated/", "duplicate/same_order", "duplicate/replayed_hit",
			"duplicate/already_registered", "rejected/currency_mismatch", "rejected/no_webinar", "rejected/no_attendee"} {
			if seen[k] == 0 {
				t.Errorf("no %s result in the sequences: the generator no longer covers it", k)
			}
		}
		t.Logf("results: %v", seen)
	})
}

var (
	diffEmails   = []string{"", "", "a@example.com", "b@example.com", "c@example.com"}
	diffCookies  = []string{"", "", "ck1", "ck2", "{ck3}"}
	diffWebinars = []string{"w1", "w2", "w3", "{w4}"}
	diffTags     = []string{"t1", "t2", "{t3}"}
	diffKeys     = []string{"o1", "o2", "o3", "{o4}", "fp"}
)

// differential runs one sequence; ledgers[0] is the reference.
func differential(t *testing.T, seed uint64, ledgers ...storage.Ledger) map[string]int {
	ctx := t.Context()
	r := rand.New(rand.NewPCG(seed, 42))
	acct := randomID("diff-")
	for _, l := range ledgers {
		if err := l.PutAccount(ctx, storage.Account{ID: acct, Name: "d", DefaultCurrency: "USD"}); err != nil {
			t.Fatal(err)
		}
	}
	pick := func(s []string) string { return s[r.IntN(len(s))] }
	some := func(s []string, max int) []string {
		var out []string
		for range r.IntN(max + 1) {
			out = append(out, pick(s))
		}
		return out
	}
	now := base
	var applied []storage.Op
	var pos uint64 // the ops' places in one hits log; a replay keeps its own
	seen := map[string]int{}
	for step := range 300 {
		if r.IntN(15) == 0 {
			w := storage.Webinar{ID: pick(diffWebinars), Name: "n" + strconv.Itoa(step), Tags: some(diffTags, 2)}
			for _, l := range ledgers {
				if err := l.PutWebinar(ctx, acct, w); err != nil {
					t.Fatal(err)
				}
			}
			continue
		}
		now = now.Add(time.Duration(r.IntN(40)) * time.Minute)
		var ops []storage.Op
		for range 1 + r.IntN(4) {
			var op storage.Op
			if len(applied) > 0 && r.IntN(10) == 0 {
				op = applied[r.IntN(len(applied))] // a replay
			} else {
				pos++
				op = storage.Op{HitID: randomID("hit-"), Account: acct, Time: now, Log: "diff-log", Pos: pos,
					AttendeeEmail: pick(diffEmails), CookieID: pick(diffCookies),
					Webinars: some(diffWebinars, 2), Tags: some(diffTags, 1)}
				if r.IntN(4) == 0 {
					op.Kind = storage.OpRegistration
				} else {
					op.Kind = storage.OpConversion
					op.OrderKey = pick(diffKeys)
					op.OrderID = op.OrderKey
					if op.OrderKey == "fp" {
						op.OrderWindow = 30 * time.Minute
					}
					op.HasAmount = r.IntN(3) > 0
					op.Amount = attribution.Micros(r.IntN(5)) * 10 * attribution.MicrosPerUnit
					op.Currency = "USD"
					if r.IntN(8) == 0 {
						op.Currency = "EUR"
					}
					op.Source = pick([]string{"pixel", "backend"})
				}
			}
			ops = append(ops, op)
		}
		applied = append(applied, ops...)
		var want []storage.Result
		for i, l := range ledgers {
			got, err := l.Apply(ctx, ops)
			if err != nil {
				t.Fatalf("step %d: Apply: %v", step, err)
			}
			if i == 0 {
				want = got
				for _, r := range got {
					seen[string(r.Status)+"/"+r.Reason]++
				}
				continue
			}
			for j := range got {
				if !sameResult(got[j], want[j]) {
					t.Fatalf("step %d op %d %s:\n got  %+v\n want %+v (reference)", step, j, js(ops[j]), got[j], want[j])
				}
			}
		}
	}
	var snaps []any
	for _, l := range ledgers {
		snaps = append(snaps, snapshot(t, l, acct))
	}
	if !reflect.DeepEqual(snaps[0], snaps[1]) {
		t.Fatalf("reads differ:\n reference %s\n got       %s", js(snaps[0]), js(snaps[1]))
	}
	return seen
}

func sameResult(a, b storage.Result) bool {
	return a.Status == b.Status && a.Reason == b.Reason && a.Delta == b.Delta &&
		a.AttendeeID == b.AttendeeID && slices.Equal(a.Credited, b.Credited)
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

type diffSnapshot struct {
	Webinars    []storage.Webinar
	Stats       map[string]storage.WebinarStats
	Registrants map[string][]storage.Registrant
	Attendees   map[string]storage.Attendee
}

func snapshot(t *testing.T, l storage.Ledger, acct string) diffSnapshot {
	ctx := t.Context()
	s := diffSnapshot{Stats: map[string]storage.WebinarStats{}, Registrants: map[string][]storage.Registrant{},
		Attendees: map[string]storage.Attendee{}}
	ws, err := l.Webinars(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	s.Webinars = ws
	for _, w := range ws {
		st, err := l.WebinarStats(ctx, acct, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Revenue) == 0 {
			st.Revenue = nil
		}
		s.Stats[w.ID] = st
		rs, err := l.Registrants(ctx, acct, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		for i := range rs {
			rs[i].RegisteredAt = rs[i].RegisteredAt.UTC()
		}
		if len(rs) > 0 {
			s.Registrants[w.ID] = rs
		}
	}
	for _, e := range diffEmails[2:] {
		a, err := l.Attendee(ctx, acct, e)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(a.LTV) == 0 {
			a.LTV = nil
		}
		if len(a.Webinars) == 0 {
			a.Webinars = nil
		}
		if len(a.Acquisition) == 0 {
			a.Acquisition = nil
		}
		if len(a.OrderList) == 0 {
			a.OrderList = nil
		}
		for i, o := range a.OrderList {
			if len(o.Webinars) == 0 {
				o.Webinars = nil
			}
			o.FirstSeen, o.LastSeen = o.FirstSeen.UTC(), o.LastSeen.UTC()
			a.OrderList[i] = o
		}
		s.Attendees[e] = a
	}
	return s
}
