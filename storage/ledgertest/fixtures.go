package ledgertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

// base is the pinned time of every op: the ledger never reads the clock.
var base = time.Date(2025, time.March, 10, 12, 0, 0, 0, time.UTC)

// at is base plus an offset.
func at(d time.Duration) time.Time { return base.Add(d) }

const day = 24 * time.Hour

// fixture is one subtest's view of the ledger: its own fresh account.
type fixture struct {
	*testing.T
	h    *harness
	l    storage.Ledger
	ctx  context.Context
	acct string
	pos  *positions
}

func (h *harness) fixture(t *testing.T) *fixture {
	t.Helper()
	if h.ledger == nil {
		t.Fatal("the ledger could not be reopened by an earlier case")
	}
	f := &fixture{T: t, h: h, l: h.ledger, ctx: t.Context(), pos: newPositions()}
	f.acct = f.newAccount()
	return f
}

// newAccount creates a fresh account with default currency USD.
func (f *fixture) newAccount() string {
	f.Helper()
	id := randomID("lt-")
	if err := f.l.PutAccount(f.ctx, storage.Account{ID: id, Name: "Conformance " + id, DefaultCurrency: "USD"}); err != nil {
		f.Fatalf("PutAccount(%s): %v", id, err)
	}
	return id
}

// reopen closes the ledger and opens it again on the same state.
func (f *fixture) reopen() {
	f.Helper()
	f.h.reopen(f.T)
	f.l = f.h.ledger
}

// randomID returns prefix followed by 16 random hex digits.
func randomID(prefix string) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return prefix + hex.EncodeToString(b[:])
}

// m parses a decimal amount ("49.99", "-20", "0.000001") into Micros.
func m(s string) attribution.Micros {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 6 {
		panic("ledgertest: too many decimals in " + s)
	}
	frac += strings.Repeat("0", 6-len(frac))
	w, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil {
		panic("ledgertest: bad amount " + s)
	}
	v := attribution.Micros(w*attribution.MicrosPerUnit + f)
	if neg {
		return -v
	}
	return v
}

// money builds a per-currency map from pairs: money("USD", "10", "EUR", "2.50").
func money(pairs ...string) map[string]attribution.Micros {
	if len(pairs)%2 != 0 {
		panic("ledgertest: money needs currency/amount pairs")
	}
	out := make(map[string]attribution.Micros, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		out[pairs[i]] = m(pairs[i+1])
	}
	return out
}

// eid and cid are the attendee ids of an email and of a cookie.
func eid(email string) string  { return attribution.EmailAttendeeID(email) }
func cid(cookie string) string { return attribution.CookieAttendeeID(cookie) }

// op builds a storage.Op; its methods return modified copies.
type op struct{ storage.Op }

// conv is a conversion of order key (also its order id) in USD at base time,
// source pixel, with a fresh hit id, no amount, no webinar, no attendee.
func (f *fixture) conv(orderKey string) op {
	return op{storage.Op{
		HitID: randomID("hit-"), Account: f.acct, Kind: storage.OpConversion, Time: base,
		OrderKey: orderKey, OrderID: orderKey, Currency: "USD", Source: "pixel",
	}}
}

// reg is a registration to webinars at base time with a fresh hit id.
func (f *fixture) reg(webinars ...string) op {
	return op{storage.Op{
		HitID: randomID("hit-"), Account: f.acct, Kind: storage.OpRegistration, Time: base,
		Webinars: slices.Clone(webinars),
	}}
}

func (o op) webinars(ids ...string) op      { o.Webinars = slices.Clone(ids); return o }
func (o op) tags(tags ...string) op         { o.Tags = slices.Clone(tags); return o }
func (o op) email(e string) op              { o.AttendeeEmail = e; return o }
func (o op) cookie(c string) op             { o.CookieID = c; return o }
func (o op) attendee(id string) op          { o.AttendeeID = id; return o }
func (o op) currency(c string) op           { o.Currency = c; return o }
func (o op) at(d time.Duration) op          { o.Time = base.Add(d); return o }
func (o op) window(d time.Duration) op      { o.OrderWindow = d; return o }
func (o op) hit(id string) op               { o.HitID = id; return o }
func (o op) account(a string) op            { o.Account = a; return o }
func (o op) source(s string) op             { o.Source = s; return o }
func (o op) orderID(id string) op           { o.OrderID = id; return o }
func (o op) profile(p map[string]string) op { o.Profile = maps.Clone(p); return o }

func (o op) amount(s string) op {
	o.HasAmount, o.Amount = true, m(s)
	return o
}

func (o op) product(id, name string) op {
	o.ProductID, o.ProductName = id, name
	return o
}

// apply applies ops in one Apply call.
func (f *fixture) apply(ops ...op) []storage.Result {
	f.Helper()
	raw := make([]storage.Op, len(ops))
	for i, o := range ops {
		raw[i] = o.Op
		f.pos.place(&raw[i], false)
	}
	res, err := f.l.Apply(f.ctx, raw)
	if err != nil {
		f.Fatalf("Apply(%d ops): %v", len(ops), err)
	}
	if len(res) != len(ops) {
		f.Fatalf("Apply(%d ops) returned %d results", len(ops), len(res))
	}
	return res
}

// do applies one op alone.
func (f *fixture) do(o op) storage.Result {
	f.Helper()
	return f.apply(o)[0]
}

// expect applies one op alone and checks its result.
func (f *fixture) expect(o op, want storage.Result) {
	f.Helper()
	f.checkResult(o.HitID, f.do(o), want)
}

// checkResult compares every field of a Result; a nil and an empty Credited
// are the same.
func (f *fixture) checkResult(label string, got, want storage.Result) {
	f.Helper()
	if got.Status != want.Status || got.Reason != want.Reason || got.Delta != want.Delta ||
		got.AttendeeID != want.AttendeeID || !slices.Equal(got.Credited, want.Credited) {
		f.Errorf("result of %s:\n got  %s\n want %s", label, fmtResult(got), fmtResult(want))
	}
}

func fmtResult(r storage.Result) string {
	return string(r.Status) + " reason=" + strconv.Quote(r.Reason) + " delta=" +
		strconv.FormatInt(int64(r.Delta), 10) + " credited=" + strconv.Quote(strings.Join(r.Credited, ",")) +
		" attendee=" + strconv.Quote(r.AttendeeID)
}

// Expected results.

func accepted(delta attribution.Micros, attendee string, credited ...string) storage.Result {
	return storage.Result{Status: storage.StatusAccepted, Delta: delta, AttendeeID: attendee, Credited: credited}
}

func updated(delta attribution.Micros, attendee string, credited ...string) storage.Result {
	return storage.Result{Status: storage.StatusUpdated, Delta: delta, AttendeeID: attendee, Credited: credited}
}

func sameOrder(attendee string, credited ...string) storage.Result {
	return storage.Result{Status: storage.StatusDuplicate, Reason: storage.ReasonSameOrder, AttendeeID: attendee, Credited: credited}
}

func rejected(reason, attendee string) storage.Result {
	return storage.Result{Status: storage.StatusRejected, Reason: reason, AttendeeID: attendee}
}

func replayed() storage.Result {
	return storage.Result{Status: storage.StatusDuplicate, Reason: storage.ReasonReplayedHit}
}

func registered(attendee string, credited ...string) storage.Result {
	return storage.Result{Status: storage.StatusAccepted, AttendeeID: attendee, Credited: credited}
}

func alreadyRegistered(attendee string, credited ...string) storage.Result {
	return storage.Result{Status: storage.StatusDuplicate, Reason: storage.ReasonAlreadyRegistered, AttendeeID: attendee, Credited: credited}
}

// Reads.

func (f *fixture) stats(webinar string) storage.WebinarStats {
	f.Helper()
	s, err := f.l.WebinarStats(f.ctx, f.acct, webinar)
	if err != nil {
		f.Fatalf("WebinarStats(%s): %v", webinar, err)
	}
	return s
}

// wantStats checks every field of a webinar's stats. Revenue must omit zero
// totals; a nil and an empty map are the same.
func (f *fixture) wantStats(webinar string, want storage.WebinarStats) {
	f.Helper()
	got := normStats(f.stats(webinar))
	if want = normStats(want); !reflect.DeepEqual(got, want) {
		f.Errorf("WebinarStats(%s):\n got  %s\n want %s", webinar, dump(got), dump(want))
	}
}

// attendee reads an attendee by email.
func (f *fixture) attendee(email string) storage.Attendee {
	f.Helper()
	a, err := f.l.Attendee(f.ctx, f.acct, email)
	if err != nil {
		f.Fatalf("Attendee(%s): %v", email, err)
	}
	return a
}

// wantAttendee checks every field of an attendee, orders included. ID and
// Email default to the email's.
func (f *fixture) wantAttendee(email string, want storage.Attendee) {
	f.Helper()
	if want.ID == "" {
		want.ID = eid(email)
	}
	if want.Email == "" {
		want.Email = email
	}
	got := normAttendee(f.attendee(email))
	if want = normAttendee(want); !reflect.DeepEqual(got, want) {
		f.Errorf("Attendee(%s):\n got  %s\n want %s", email, dump(got), dump(want))
	}
}

// wantWebinars checks the account's webinar list; Tags must never be nil.
func (f *fixture) wantWebinars(want ...storage.Webinar) {
	f.Helper()
	got, err := f.l.Webinars(f.ctx, f.acct)
	if err != nil {
		f.Fatalf("Webinars: %v", err)
	}
	for _, w := range got {
		if w.Tags == nil {
			f.Errorf("Webinars: %s has nil Tags", w.ID)
		}
	}
	got, want = normWebinars(got), normWebinars(want)
	if !reflect.DeepEqual(got, want) {
		f.Errorf("Webinars:\n got  %s\n want %s", dump(got), dump(want))
	}
}

// wantRegistrants checks a webinar's registrants, oldest first.
func (f *fixture) wantRegistrants(webinar string, want ...storage.Registrant) {
	f.Helper()
	got, err := f.l.Registrants(f.ctx, f.acct, webinar)
	if err != nil {
		f.Fatalf("Registrants(%s): %v", webinar, err)
	}
	got, want = normRegistrants(got), normRegistrants(want)
	if !reflect.DeepEqual(got, want) {
		f.Errorf("Registrants(%s):\n got  %s\n want %s", webinar, dump(got), dump(want))
	}
}

// wantNotFound checks that err wraps storage.ErrNotFound.
func (f *fixture) wantNotFound(what string, err error) {
	f.Helper()
	if !errors.Is(err, storage.ErrNotFound) {
		f.Errorf("%s: got error %v, want storage.ErrNotFound", what, err)
	}
}

// unlisted checks that a webinar is not in the account's list.
func (f *fixture) unlisted(webinar string) {
	f.Helper()
	_, err := f.l.WebinarStats(f.ctx, f.acct, webinar)
	f.wantNotFound("WebinarStats("+webinar+") of an unlisted webinar", err)
}

// noAttendee checks that no attendee record exists for email.
func (f *fixture) noAttendee(email string) {
	f.Helper()
	_, err := f.l.Attendee(f.ctx, f.acct, email)
	f.wantNotFound("Attendee("+email+")", err)
}

// Normalisation: nil and empty are the same, times compare as instants.

func normStats(s storage.WebinarStats) storage.WebinarStats {
	if len(s.Revenue) == 0 {
		s.Revenue = nil
	}
	return s
}

func normOrder(o storage.Order) storage.Order {
	if len(o.Webinars) == 0 {
		o.Webinars = nil
	}
	o.FirstSeen, o.LastSeen = o.FirstSeen.UTC(), o.LastSeen.UTC()
	return o
}

func normAttendee(a storage.Attendee) storage.Attendee {
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
	list := make([]storage.Order, len(a.OrderList))
	for i, o := range a.OrderList {
		list[i] = normOrder(o)
	}
	if a.OrderList != nil {
		a.OrderList = list
	}
	return a
}

func normWebinars(ws []storage.Webinar) []storage.Webinar {
	if len(ws) == 0 {
		return nil
	}
	out := make([]storage.Webinar, len(ws))
	for i, w := range ws {
		if w.Tags == nil {
			w.Tags = []string{}
		}
		out[i] = w
	}
	return out
}

func normRegistrants(rs []storage.Registrant) []storage.Registrant {
	if len(rs) == 0 {
		return nil
	}
	out := make([]storage.Registrant, len(rs))
	for i, r := range rs {
		r.RegisteredAt = r.RegisteredAt.UTC()
		out[i] = r
	}
	return out
}

// dump renders a value for a failure message.
func dump(v any) string {
	b, err := json.MarshalIndent(v, "      ", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// snapshot is every read of an account.
type snapshot struct {
	Webinars    []storage.Webinar
	Stats       map[string]storage.WebinarStats
	Registrants map[string][]storage.Registrant
	Attendees   map[string]storage.Attendee // by email; absent when not found
}

// snapshot reads everything of an account: its webinars with their stats
// and registrants, and the attendees of the given emails.
func (f *fixture) snapshot(acct string, emails ...string) snapshot {
	f.Helper()
	ws, err := f.l.Webinars(f.ctx, acct)
	if err != nil {
		f.Fatalf("Webinars(%s): %v", acct, err)
	}
	s := snapshot{
		Webinars:    normWebinars(ws),
		Stats:       map[string]storage.WebinarStats{},
		Registrants: map[string][]storage.Registrant{},
		Attendees:   map[string]storage.Attendee{},
	}
	for _, w := range ws {
		st, err := f.l.WebinarStats(f.ctx, acct, w.ID)
		if err != nil {
			f.Fatalf("WebinarStats(%s, %s): %v", acct, w.ID, err)
		}
		s.Stats[w.ID] = normStats(st)
		rs, err := f.l.Registrants(f.ctx, acct, w.ID)
		if err != nil {
			f.Fatalf("Registrants(%s, %s): %v", acct, w.ID, err)
		}
		s.Registrants[w.ID] = normRegistrants(rs)
	}
	for _, e := range emails {
		a, err := f.l.Attendee(f.ctx, acct, e)
		switch {
		case errors.Is(err, storage.ErrNotFound):
		case err != nil:
			f.Fatalf("Attendee(%s, %s): %v", acct, e, err)
		default:
			s.Attendees[e] = normAttendee(a)
		}
	}
	return s
}

// sameSnapshot reports the difference between two snapshots.
func (f *fixture) sameSnapshot(label string, got, want snapshot) {
	f.Helper()
	if !reflect.DeepEqual(got, want) {
		f.Errorf("%s:\n got  %s\n want %s", label, dump(got), dump(want))
	}
}

// concurrently runs fn(i) for i in [0, n) in n goroutines started together
// and returns the results; errors fail the test.
func (f *fixture) concurrently(n int, fn func(i int) (storage.Result, error)) []storage.Result {
	f.Helper()
	results := make([]storage.Result, n)
	errs := make([]error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Go(func() {
			start.Wait()
			results[i], errs[i] = fn(i)
		})
	}
	start.Done()
	done.Wait()
	if err := errors.Join(errs...); err != nil {
		f.Fatalf("concurrent apply: %v", err)
	}
	return results
}

// applyOne applies a single op in its own Apply call (for goroutines: it
// returns errors instead of failing).
func (f *fixture) applyOne(o op) (storage.Result, error) {
	f.pos.place(&o.Op, true)
	res, err := f.l.Apply(f.ctx, []storage.Op{o.Op})
	if err != nil {
		return storage.Result{}, err
	}
	if len(res) != 1 {
		return storage.Result{}, errors.New("Apply of one op returned " + strconv.Itoa(len(res)) + " results")
	}
	return res[0], nil
}

// tally counts results by "status/reason".
func tally(results []storage.Result) map[string]int {
	out := map[string]int{}
	for _, r := range results {
		k := string(r.Status)
		if r.Reason != "" {
			k += "/" + r.Reason
		}
		out[k]++
	}
	return out
}
