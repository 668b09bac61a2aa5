package ledgertest

import (
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

// Source is where a differential sequence takes its choices: a seeded
// PRNG (math/rand/v2's *rand.Rand) or a fuzzer's bytes (BytesSource).
type Source interface {
	// IntN returns a choice in [0, n).
	IntN(n int) int
}

// BytesSource reads choices from a fuzzer's input, a byte each (two when
// n > 256). Once the input is used up every choice is 0 and Exhausted
// reports true: the sequence ends there.
type BytesSource struct {
	b    []byte
	used int
}

// NewBytesSource returns a Source over b (not copied: do not change b).
func NewBytesSource(b []byte) *BytesSource { return &BytesSource{b: b} }

// IntN returns the next choice in [0, n).
func (s *BytesSource) IntN(n int) int {
	if n <= 1 {
		return 0
	}
	v := 0
	for k := 0; k < 1 || (k < 2 && n > 256); k++ {
		if s.used >= len(s.b) {
			s.used++ // past the end: exhausted
			return 0
		}
		v = v<<8 | int(s.b[s.used])
		s.used++
	}
	return v % n
}

// Exhausted reports whether a choice was asked past the end of the input.
func (s *BytesSource) Exhausted() bool { return s.used > len(s.b) }

// Subject is one ledger under a differential test. Its Ledger must be a
// storage.StateDumper.
type Subject struct {
	Name   string
	Ledger storage.Ledger
}

// Tally counts what a differential sequence did: ops applied, and results
// of the reference by "status/reason" (so a test can check that the
// generator still reaches every rule).
type Tally struct {
	Ops     int
	Steps   int
	Results map[string]int
	// Accounts the sequences made (the caller may delete them from a
	// shared store).
	Accounts []string
}

// Add adds o to t.
func (t *Tally) Add(o Tally) {
	if t.Results == nil {
		t.Results = map[string]int{}
	}
	t.Ops += o.Ops
	t.Steps += o.Steps
	t.Accounts = append(t.Accounts, o.Accounts...)
	for k, n := range o.Results {
		t.Results[k] += n
	}
}

// Differential drives every subject with the same random sequence of at
// most steps steps, each in the same fresh account, and fails t at the
// first difference: a result of an op (every field, the conversion and
// the replay's original included), an error of a configuration change or
// an erasure, or the account's whole state (storage.StateDumper) after any
// step. A step is a batch of 1 to 8 ops of every kind (conversions with
// refreshes, amount changes, added webinars, other currencies and
// fingerprint windows; recurring charges; registrations and cookie links;
// leads; clicks; postbacks through every status and network path;
// replays of earlier hits; ops of an unknown account and invalid ops) or
// a configuration change (webinar tags, campaign documents, deleted
// webinars, the account) or an erasure. Every 50 steps and at the end,
// every read of the ledger is compared too. subjects[0] is the reference.
func Differential(t testing.TB, src Source, steps int, subjects ...Subject) Tally {
	t.Helper()
	if len(subjects) < 2 {
		t.Fatal("ledgertest.Differential needs two ledgers or more")
	}
	d := &differential{t: t, subjects: subjects, g: newGenerator(src, randomID("diff-"))}
	tally := Tally{Results: map[string]int{}, Accounts: []string{d.g.acct}}
	for _, s := range subjects {
		if _, ok := s.Ledger.(storage.StateDumper); !ok {
			t.Fatalf("%s (%T) is not a storage.StateDumper", s.Name, s.Ledger)
		}
		if err := s.Ledger.PutAccount(t.Context(), storage.Account{ID: d.g.acct, Name: "differential", DefaultCurrency: "USD"}); err != nil {
			t.Fatalf("%s: PutAccount: %v", s.Name, err)
		}
		for _, c := range slices.Sorted(maps.Keys(d.g.campaigns)) {
			if err := s.Ledger.PutConfig(t.Context(), d.g.acct, storage.ConfigCampaign, c, []byte(d.g.campaigns[c])); err != nil {
				t.Fatalf("%s: PutConfig(%s): %v", s.Name, c, err)
			}
		}
	}
	for step := 0; step < steps; step++ {
		what := d.step(&tally)
		if bs, ok := src.(*BytesSource); ok && bs.Exhausted() {
			break
		}
		d.sameStates(step, what)
		if step%50 == 49 {
			d.sameReads(step)
		}
		tally.Steps++
	}
	d.sameReads(tally.Steps)
	return tally
}

type differential struct {
	t        testing.TB
	subjects []Subject
	g        *generator
	// recent describes the last steps, for a failure message.
	recent []string
}

// step makes one step on every subject and returns what it did.
func (d *differential) step(tally *Tally) string {
	t, g, ctx := d.t, d.g, d.t.Context()
	t.Helper()
	var what string
	switch c := g.src.IntN(100); {
	case c < 4:
		w := storage.Webinar{ID: g.pick(diffWebinars), Name: g.pick([]string{"", "Alpha", "Beta"}), Tags: g.some(slices.Concat(diffTags, []string{""}), 2)}
		what = "PutWebinar " + js(w)
		d.sameErrors(what, func(l storage.Ledger) error { return l.PutWebinar(ctx, g.acct, w) })
	case c < 7:
		id, doc := g.pick(g.campaignIDs()), g.pick(campaignDocs)
		g.campaigns[id] = doc
		what = "PutConfig campaign " + id + " " + doc
		d.sameErrors(what, func(l storage.Ledger) error { return l.PutConfig(ctx, g.acct, storage.ConfigCampaign, id, []byte(doc)) })
	case c < 8:
		id := g.pick(g.campaignIDs())
		delete(g.campaigns, id)
		what = "DeleteConfig campaign " + id
		d.sameErrors(what, func(l storage.Ledger) error { return l.DeleteConfig(ctx, g.acct, storage.ConfigCampaign, id) })
	case c < 9:
		w := g.pick(diffWebinars)
		if g.src.IntN(2) == 0 {
			what = "PutConfig deleted_webinar " + w
			d.sameErrors(what, func(l storage.Ledger) error { return l.PutConfig(ctx, g.acct, "deleted_webinar", w, []byte(`{}`)) })
		} else {
			what = "DeleteConfig deleted_webinar " + w
			d.sameErrors(what, func(l storage.Ledger) error { return l.DeleteConfig(ctx, g.acct, "deleted_webinar", w) })
		}
	case c < 10:
		a := storage.Account{ID: g.acct, Name: g.pick([]string{"differential", "renamed"}),
			DefaultCurrency: g.pick([]string{"USD", "EUR"}), MaxAmount: g.amount([]string{"0", "1000000"})}
		what = "PutAccount " + js(a)
		d.sameErrors(what, func(l storage.Ledger) error { return l.PutAccount(ctx, a) })
	case c < 12:
		email := g.pick(diffEmails[2:])
		at := g.now.Add(-time.Duration(g.src.IntN(3)) * 30 * time.Minute)
		what = "EraseAttendee " + email + " at " + at.Format(time.RFC3339)
		d.sameErasures(what, func(l storage.Ledger) (storage.Erasure, error) { return l.EraseAttendee(ctx, g.acct, email, at) })
	default:
		ops := g.batch()
		what = "Apply " + fmtOps(ops)
		d.sameResults(what, ops, tally)
		tally.Ops += len(ops)
	}
	d.recent = append(d.recent, what)
	if len(d.recent) > 6 {
		d.recent = d.recent[1:]
	}
	return what
}

func (d *differential) sameErrors(what string, fn func(storage.Ledger) error) {
	d.t.Helper()
	var want error
	for i, s := range d.subjects {
		err := fn(s.Ledger)
		if i == 0 {
			want = err
			continue
		}
		if !sameError(err, want) {
			d.t.Fatalf("%s: %s: error %v, %s: %v", what, s.Name, err, d.subjects[0].Name, want)
		}
	}
}

func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	for _, e := range []error{storage.ErrNotFound, storage.ErrConflict, storage.ErrUnavailable} {
		if errors.Is(a, e) != errors.Is(b, e) {
			return false
		}
	}
	return true
}

func (d *differential) sameErasures(what string, fn func(storage.Ledger) (storage.Erasure, error)) {
	d.t.Helper()
	var want storage.Erasure
	var wantErr error
	for i, s := range d.subjects {
		er, err := fn(s.Ledger)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			d.t.Fatalf("%s: %s: %v", what, s.Name, err)
		}
		if len(er.ClickIDs) == 0 {
			er.ClickIDs = nil
		}
		if i == 0 {
			want, wantErr = er, err
			continue
		}
		if !reflect.DeepEqual(er, want) || !sameError(err, wantErr) {
			d.t.Fatalf("%s:\n %s: %+v, %v\n %s: %+v, %v", what, s.Name, er, err, d.subjects[0].Name, want, wantErr)
		}
	}
}

func (d *differential) sameResults(what string, ops []storage.Op, tally *Tally) {
	d.t.Helper()
	var want []storage.Result
	for i, s := range d.subjects {
		got, err := s.Ledger.Apply(d.t.Context(), slices.Clone(ops))
		if err != nil {
			d.t.Fatalf("%s: %s: %v", what, s.Name, err)
		}
		if len(got) != len(ops) {
			d.t.Fatalf("%s: %s: %d results for %d ops", what, s.Name, len(got), len(ops))
		}
		for j := range got {
			got[j] = normResult(got[j])
		}
		if i == 0 {
			want = got
			for _, r := range got {
				tally.Results[string(r.Status)+"/"+r.Reason]++
			}
			continue
		}
		for j := range got {
			if !reflect.DeepEqual(got[j], want[j]) {
				d.t.Fatalf("op %d of %d differs (-%s +%s):\n%s\nop: %s\nits batch: %s\nthe steps before, the last one first:\n  %s",
					j, len(ops), d.subjects[0].Name, s.Name, d.g.readable(diffLines(flat(want[j]), flat(got[j]))), fmtOp(ops[j]),
					what, strings.Join(reversed(d.recent), "\n  "))
			}
		}
	}
}

// normResult makes equal results compare equal: nil and empty lists and
// maps are the same.
func normResult(r storage.Result) storage.Result {
	if len(r.Credited) == 0 {
		r.Credited = nil
	}
	if r.Conversion != nil {
		c := *r.Conversion
		if len(c.Macros) == 0 {
			c.Macros = nil
		}
		r.Conversion = &c
	}
	if r.Original != nil {
		o := normResult(*r.Original)
		r.Original = &o
	}
	return r
}

// sameStates compares the whole account of every subject with the
// reference's.
func (d *differential) sameStates(step int, what string) {
	d.t.Helper()
	var want storage.AccountState
	for i, s := range d.subjects {
		got, err := s.Ledger.(storage.StateDumper).DumpAccount(d.t.Context(), d.g.acct)
		if err != nil {
			d.t.Fatalf("step %d (%s): %s: %v", step, what, s.Name, err)
		}
		if i == 0 {
			want = got
			continue
		}
		if !reflect.DeepEqual(got, want) {
			d.t.Fatalf("step %d: the states differ (-%s +%s):\n%s\nrecent steps, the last one first:\n  %s", step,
				d.subjects[0].Name, s.Name, d.g.readable(diffLines(flat(want), flat(got))), strings.Join(reversed(d.recent), "\n  "))
		}
	}
}

func fmtOps(ops []storage.Op) string {
	out := make([]string, len(ops))
	for i, op := range ops {
		out[i] = fmtOp(op)
	}
	return "[\n    " + strings.Join(out, "\n    ") + "]"
}

// accountReads is what the ledger's reads say of an account; errors are
// kept as "not found" or their text.
type accountReads struct {
	Account     storage.Account
	Webinars    []storage.Webinar
	Stats       map[string]storage.WebinarStats
	Registrants map[string][]storage.Registrant
	ByEmail     map[string]storage.Attendee
	ByID        map[string]storage.Attendee
	Walk        map[string]storage.Attendee // Attendees
	Profiles    map[string]map[string]string
	Erased      map[string]time.Time
	Configs     map[string]map[string]string
	Owners      map[string]string
	Errors      []string
}

// reads calls every read of the ledger on the account.
func (d *differential) reads(l storage.Ledger) accountReads {
	ctx, acct := d.t.Context(), d.g.acct
	r := accountReads{Stats: map[string]storage.WebinarStats{}, Registrants: map[string][]storage.Registrant{},
		ByEmail: map[string]storage.Attendee{}, ByID: map[string]storage.Attendee{}, Walk: map[string]storage.Attendee{},
		Profiles: map[string]map[string]string{}, Configs: map[string]map[string]string{}, Owners: map[string]string{}}
	fail := func(what string, err error) bool {
		if err == nil {
			return false
		}
		if errors.Is(err, storage.ErrNotFound) {
			r.Errors = append(r.Errors, what+": not found")
		} else {
			r.Errors = append(r.Errors, what+": "+err.Error())
		}
		return true
	}
	var err error
	r.Account, err = l.Account(ctx, acct)
	fail("Account", err)
	ws, err := l.Webinars(ctx, acct)
	fail("Webinars", err)
	r.Webinars = normWebinars(ws)
	for _, w := range append(slices.Clone(diffWebinars), "never") {
		st, err := l.WebinarStats(ctx, acct, w)
		if !fail("WebinarStats "+w, err) {
			r.Stats[w] = normStats(st)
		}
		regs, err := l.Registrants(ctx, acct, w)
		if !fail("Registrants "+w, err) {
			r.Registrants[w] = normRegistrants(regs)
		}
	}
	ids := []string{}
	for _, e := range diffEmails[2:] {
		a, err := l.Attendee(ctx, acct, e)
		if !fail("Attendee "+e, err) {
			r.ByEmail[e] = normAttendee(a)
		}
		ids = append(ids, eid(e))
	}
	for _, c := range diffCookies[2:] {
		ids = append(ids, cid(c))
	}
	for _, id := range ids {
		a, err := l.AttendeeByID(ctx, acct, id)
		if !fail("AttendeeByID "+id, err) {
			r.ByID[id] = normAttendee(a)
		}
		p, err := l.Profile(ctx, acct, id)
		if !fail("Profile "+id, err) && len(p) > 0 {
			r.Profiles[id] = p
		}
	}
	fail("Attendees", l.Attendees(ctx, acct, func(a storage.Attendee) error {
		r.Walk[a.ID] = normAttendee(a)
		return nil
	}))
	r.Erased, err = l.Erased(ctx, acct)
	fail("Erased", err)
	for k, t := range r.Erased {
		r.Erased[k] = t.UTC()
	}
	for _, kind := range []string{storage.ConfigCampaign, "deleted_webinar"} {
		docs, err := l.Configs(ctx, acct, kind)
		if !fail("Configs "+kind, err) && len(docs) > 0 {
			r.Configs[kind] = map[string]string{}
			for id, doc := range docs {
				r.Configs[kind][id] = string(doc)
			}
		}
	}
	for _, id := range d.g.campaignIDs() {
		owner, err := l.ConfigOwner(ctx, storage.ConfigCampaign, id)
		if !fail("ConfigOwner "+id, err) {
			r.Owners[id] = owner
		}
	}
	return r
}

// sameReads compares what every read says of the account.
func (d *differential) sameReads(step int) {
	d.t.Helper()
	want := d.reads(d.subjects[0].Ledger)
	for _, s := range d.subjects[1:] {
		if got := d.reads(s.Ledger); !reflect.DeepEqual(got, want) {
			d.t.Fatalf("after step %d, the reads differ (-%s +%s):\n%s", step, d.subjects[0].Name, s.Name,
				d.g.readable(diffLines(flat(want), flat(got))))
		}
	}
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// The id spaces of a sequence are small, so that orders, attendees,
// cookies, tags, clicks and conversions collide often; braces check that
// no id can move a Redis key out of its account's slot.
var (
	diffEmails   = []string{"", "", "a@example.com", "b@example.com", "{c}@example.com"}
	diffCookies  = []string{"", "", "ck1", "ck2", "{ck3}"}
	diffWebinars = []string{"w1", "w2", "w3", "{w4}"}
	diffTags     = []string{"t1", "t2", "{t3}"}
	diffKeys     = []string{"o1", "o2", "o3", "{o4}", "fp"}
	diffClicks   = []string{"k1", "k2", "{k3}"}
	diffTxIDs    = []string{"", "t1", "t2"}
	diffGoals    = []string{"", "lead", "view"}
	diffStatuses = []string{"pending", "approved", "declined", "chargeback"}
	diffAmounts  = []string{"0", "10", "19.99", "49", "0.000001", "123456789.123456"}
	diffPayouts  = []string{"0", "3", "10", "12.5", "99999.99"}
	// campaignDocs are the documents a campaign may have: its network and
	// pixel_conversions decide who converts clicks of earlier builds.
	campaignDocs = []string{`{"network_id":""}`, `{"network_id":"netA"}`,
		`{"network_id":"netA","pixel_conversions":true}`, `{"network_id":"","pixel_conversions":false}`}
	diffValuations = []*storage.Valuation{nil,
		{Goals: map[string]storage.GoalDoc{"lead": {Type: "fixed", Value: "2000000"}, "view": {Type: "none"}}},
		{Payout: "4000000"},
		{Goals: map[string]storage.GoalDoc{"default": {Type: "fixed", Value: "1500000"}}},
	}
)

// generator makes the ops of one sequence.
type generator struct {
	src  Source
	acct string
	now  time.Time
	hits int
	// campaigns: the account's campaign documents (id -> doc), as stored.
	campaigns map[string]string
	applied   []storage.Op
	recurring int
	names     *strings.Replacer // HashID(id) -> #id, for failure messages
}

func newGenerator(src Source, acct string) *generator {
	g := &generator{src: src, acct: acct, now: base, campaigns: map[string]string{}}
	// Campaign ids are global (one account each): the account's own. The
	// third is never configured (a campaign that is gone).
	for i, doc := range campaignDocs[:2] {
		g.campaigns[acct+"-camp"+strconv.Itoa(i)] = doc
	}
	var pairs []string
	add := func(id, name string) { pairs = append(pairs, storage.HashID(id), name) }
	for _, e := range diffEmails[2:] {
		add(eid(e), "#"+eid(e)+"("+e+")")
	}
	for _, c := range diffCookies[2:] {
		add(cid(c), "#"+cid(c))
	}
	for _, tag := range diffTags {
		add(tag, "#tag:"+tag)
	}
	for _, k := range diffClicks {
		add(k, "#click:"+k)
		for _, tx := range diffTxIDs {
			for _, goal := range diffGoals {
				key := storage.ConvKey(k, tx, goal)
				add(key, "#conv:"+key)
			}
		}
	}
	g.names = strings.NewReplacer(pairs...)
	return g
}

// readable names the hashed ids of a rendering.
func (g *generator) readable(s string) string { return g.names.Replace(s) }

// campaignIDs are the account's campaign ids, configured or not.
func (g *generator) campaignIDs() []string {
	return []string{g.acct + "-camp0", g.acct + "-camp1", g.acct + "-camp2"}
}

func (g *generator) pick(s []string) string { return s[g.src.IntN(len(s))] }

func (g *generator) some(s []string, max int) []string {
	var out []string
	for range g.src.IntN(max + 1) {
		out = append(out, g.pick(s))
	}
	return out
}

func (g *generator) amount(pool []string) attribution.Micros { return m(g.pick(pool)) }

// batch is the next Apply: 1 to 8 ops, a time step after the previous one.
func (g *generator) batch() []storage.Op {
	g.now = g.now.Add(time.Duration(g.src.IntN(31)) * time.Minute)
	n := 1 + g.src.IntN(8)
	ops := make([]storage.Op, 0, n)
	for range n {
		ops = append(ops, g.op())
	}
	g.applied = append(g.applied, ops...)
	return ops
}

func (g *generator) op() storage.Op {
	if len(g.applied) > 0 && g.src.IntN(12) == 0 {
		return g.applied[g.src.IntN(len(g.applied))] // a replay: the same hit again
	}
	g.hits++
	op := storage.Op{HitID: g.acct + "-h" + strconv.Itoa(g.hits), Account: g.acct, Time: g.now}
	if g.src.IntN(8) == 0 {
		// A hit that waited in the log: dated before the ones applied.
		op.Time = g.now.Add(-time.Duration(g.src.IntN(120)) * time.Minute)
	}
	switch c := g.src.IntN(100); {
	case c < 30:
		g.conversion(&op)
	case c < 38:
		g.recurringCharge(&op)
	case c < 50:
		g.identity(&op)
		op.Kind = storage.OpRegistration
		op.Webinars, op.Tags = g.some(diffWebinars, 2), g.some(diffTags, 1)
		if g.src.IntN(4) == 0 {
			op.Profile = g.profile()
		}
	case c < 58:
		op.Kind = storage.OpLead
		op.AttendeeEmail, op.CookieID = g.pick(diffEmails[2:]), g.pick(diffCookies)
		op.Profile = g.profile()
	case c < 70:
		g.click(&op)
	case c < 97:
		g.postback(&op)
	case c < 98:
		g.conversion(&op)
		op.Account = g.acct + "-ghost" // no such account
	default:
		g.conversion(&op)
		op.HitID = "" // an op the server never builds: rejected alone
	}
	return op
}

// identity: an email, a cookie, both or neither; now and then only an
// attendee id (a replayed raw hit).
func (g *generator) identity(op *storage.Op) {
	op.AttendeeEmail, op.CookieID = g.pick(diffEmails), g.pick(diffCookies)
	if op.AttendeeEmail == "" && op.CookieID == "" && g.src.IntN(5) == 0 {
		op.AttendeeID = g.pick([]string{eid(diffEmails[2]), eid(diffEmails[3]), cid(diffCookies[2])})
	}
}

func (g *generator) conversion(op *storage.Op) {
	g.identity(op)
	op.Kind = storage.OpConversion
	op.Webinars, op.Tags = g.some(diffWebinars, 2), g.some(diffTags, 1)
	op.OrderKey = g.pick(diffKeys)
	op.OrderID = op.OrderKey
	switch {
	case op.OrderKey == "fp":
		op.OrderWindow, op.OrderID = 30*time.Minute, ""
	case g.src.IntN(6) == 0:
		op.OrderID = "label-" + op.OrderKey // labels stay those of the first sighting
	}
	op.HasAmount = g.src.IntN(3) > 0
	if op.HasAmount {
		op.Amount = g.amount(diffAmounts)
	}
	op.Currency = "USD"
	if g.src.IntN(8) == 0 {
		op.Currency = "EUR"
	}
	op.Source = g.pick([]string{"pixel", "backend", "manual"})
	if g.src.IntN(4) == 0 {
		op.ProductID, op.ProductName = g.pick([]string{"p1", "p2"}), g.pick([]string{"Course", "Other"})
	}
}

// recurringCharge: a backend's monthly charge, a new order id of a known
// customer without webinar (credited to its acquisition webinars).
func (g *generator) recurringCharge(op *storage.Op) {
	g.recurring++
	op.Kind = storage.OpConversion
	op.AttendeeEmail = g.pick(diffEmails[2:])
	op.OrderKey = "r" + strconv.Itoa(g.recurring)
	op.OrderID, op.Source = op.OrderKey, "backend"
	op.HasAmount, op.Amount, op.Currency = true, g.amount(diffAmounts), "USD"
}

// profile: a lead's or an imported registrant's fields, maybe none, maybe
// empty values (a hidden field sent empty).
func (g *generator) profile() map[string]string {
	p := map[string]string{}
	for range g.src.IntN(3) {
		p[g.pick([]string{"name", "screen_name", "hidden.source", "hidden.UID"})] = g.pick([]string{"Ann", "Bob", "x", ""})
	}
	return p
}

func (g *generator) click(op *storage.Op) {
	op.Kind = storage.OpClick
	op.ClickID = g.pick(diffClicks)
	op.CampaignID = g.pick(g.campaignIDs())
	op.ClickTTL = []time.Duration{30 * day, 2 * time.Hour, 20 * time.Minute}[g.src.IntN(3)]
	op.Currency = "USD"
	op.Cost = g.amount([]string{"0", "0.01", "1.5"})
	op.Macros = map[string]string{"external_id": "e" + strconv.Itoa(g.src.IntN(3))}
	if g.src.IntN(2) == 0 {
		op.Macros["zone_id"] = g.pick([]string{"1", "42"})
	}
	op.Valuation = diffValuations[g.src.IntN(len(diffValuations))]
	if g.src.IntN(4) > 0 {
		// As the server records it: the campaign's access now.
		op.Access = storage.CampaignAccess(docOrNil(g.campaigns, op.CampaignID))
	} // else a click hit logged by an earlier build: no access
}

func docOrNil(docs map[string]string, id string) []byte {
	if doc, ok := docs[id]; ok {
		return []byte(doc)
	}
	return nil
}

func (g *generator) postback(op *storage.Op) {
	op.Kind = storage.OpPostback
	op.ClickID = g.pick(append(diffClicks, "k-none"))
	op.TxID, op.Goal = g.pick(diffTxIDs), g.pick(diffGoals)
	op.ConvStatus = g.pick(diffStatuses)
	op.RawStatus = g.pick([]string{"1", "2", op.ConvStatus})
	op.HasAmount = g.src.IntN(4) > 0
	if op.HasAmount {
		op.Amount = g.amount(diffPayouts)
	}
	op.Currency = "USD"
	if g.src.IntN(10) == 0 {
		op.Currency = "EUR"
	}
	if g.src.IntN(4) == 0 {
		// The conversion pixel naming a click: its person, if any.
		op.Source = storage.SourcePixel
		g.identity(op)
		return
	}
	op.NetworkID = g.pick([]string{"", "", "netA", "netB"})
}
