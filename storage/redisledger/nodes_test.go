package redisledger

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/ledgertest"
)

// TestThreeNodes: three pixelpost nodes (three ledgers, each with its own
// client) apply one hit stream of one account, split across them at
// random and applied concurrently: the same order seen and refreshed on
// several nodes at the same moment, recurring charges of one customer on
// all three, the same hits delivered to several nodes, registrations,
// leads and postbacks of one person on two nodes at once. Every total must
// be exact, every duplicate recognised (the results are counted), and the
// final state (DumpAccount) the one a single node reaches applying the
// stream alone.
func TestThreeNodes(t *testing.T) {
	for _, c := range []struct {
		name string
		open func(t *testing.T) *Ledger
	}{
		{"standalone", func(t *testing.T) *Ledger { return openStandaloneDB(t, differentialDB) }},
		{"cluster", func(t *testing.T) *Ledger { return openCluster(t) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			var nodes [3]*Ledger
			for i := range nodes {
				nodes[i] = c.open(t)
			}
			single := c.open(t)
			t.Cleanup(func() {
				for _, l := range append(nodes[:], single) {
					_ = l.Close()
				}
			})
			for seed := range uint64(3) {
				t.Run("seed="+strconv.FormatUint(seed, 10), func(t *testing.T) {
					accounts := threeNodes(t, rand.New(rand.NewPCG(seed, 3)), nodes, single)
					forget(t, []*Ledger{single}, accounts)
				})
			}
		})
	}
}

// nodeStream is a hit stream built to have one outcome whatever the order
// its concurrent part is applied in: the setup first, then groups of
// ops sent to distinct nodes at the same moment, then the rest.
type nodeStream struct {
	setup []storage.Op
	// groups: each group's ops go to distinct nodes in the same round.
	groups [][]storage.Op
	rest   []storage.Op
	// want counts the results the stream must give, by "status/reason".
	want map[string]int
	// the totals it must end with
	w1Sales, w2Sales int64
	w1Rev, w2Rev     attribution.Micros
	a0LTV            attribution.Micros
	a0Orders         int64
}

func newNodeStream(r *rand.Rand) *nodeStream {
	s := &nodeStream{want: map[string]int{}}
	hits := 0
	op := func(kind storage.OpKind, d time.Duration) storage.Op {
		hits++
		return storage.Op{HitID: "n-h" + strconv.Itoa(hits), Kind: kind, Time: base.Add(d)}
	}
	conv := func(key, email string, amount attribution.Micros, d time.Duration, webinars ...string) storage.Op {
		o := op(storage.OpConversion, d)
		o.OrderKey, o.OrderID, o.AttendeeEmail, o.Webinars = key, key, email, webinars
		o.HasAmount, o.Amount, o.Currency, o.Source = true, amount, "USD", "pixel"
		return o
	}
	usd := func(units int64) attribution.Micros { return attribution.Micros(units) * attribution.MicrosPerUnit }
	email := func(who string, i int) string { return who + strconv.Itoa(i) + "@example.com" }

	// Setup, on one node: the customers' first purchases (their
	// acquisition webinars), an order later refreshed, clicks.
	for i := range 4 {
		s.setup = append(s.setup, conv("acq"+strconv.Itoa(i), email("a", i), usd(100), time.Duration(i)*time.Minute, "w1"))
	}
	s.setup = append(s.setup, conv("shared", email("a", 1), usd(50), 10*time.Minute, "w2"))
	for i := range 3 {
		k := op(storage.OpClick, 11*time.Minute)
		k.ClickID, k.CampaignID, k.ClickTTL, k.Currency = "k"+strconv.Itoa(i), "camp", 30*24*time.Hour, "USD"
		k.Macros, k.Access = map[string]string{"external_id": "x" + strconv.Itoa(i)}, &storage.ClickAccess{PixelConversions: true}
		s.setup = append(s.setup, k)
	}
	s.want["accepted/"] += len(s.setup)
	s.w1Sales, s.w1Rev, s.w2Sales, s.w2Rev = 4, usd(400), 1, usd(50)
	s.a0LTV, s.a0Orders = usd(100), 1

	// The same new order seen on three nodes at the same moment (a
	// thank-you page loaded three times): one sale.
	s.groups = append(s.groups, []storage.Op{
		conv("triple", email("a", 2), usd(30), time.Hour, "w2"),
		conv("triple", email("a", 2), usd(30), time.Hour, "w2"),
		conv("triple", email("a", 2), usd(30), time.Hour, "w2"),
	})
	s.want["accepted/"]++
	s.want["duplicate/same_order"] += 2
	s.w2Sales++
	s.w2Rev += usd(30)
	// The same order refreshed on two nodes at the same moment: nothing
	// changes; with a new amount: one update.
	s.groups = append(s.groups,
		[]storage.Op{conv("shared", email("a", 1), usd(50), time.Hour, "w2"), conv("shared", email("a", 1), usd(50), time.Hour, "w2")},
		[]storage.Op{conv("shared", email("a", 1), usd(65), 2*time.Hour, "w2"), conv("shared", email("a", 1), usd(65), 2*time.Hour, "w2")})
	s.want["duplicate/same_order"] += 3
	s.want["updated/"]++
	s.w2Rev += usd(15)
	// Registrations, leads and postbacks of one person on two nodes at once.
	for i := range 3 {
		reg := op(storage.OpRegistration, 3*time.Hour)
		reg.AttendeeEmail, reg.Webinars = email("b", i), []string{"w1"}
		again := reg
		hits++
		again.HitID = "n-h" + strconv.Itoa(hits)
		s.groups = append(s.groups, []storage.Op{reg, again})
	}
	s.want["accepted/"] += 3
	s.want["duplicate/already_registered"] += 3
	lead := op(storage.OpLead, 3*time.Hour)
	lead.AttendeeEmail, lead.Profile = email("b", 0), map[string]string{"name": "Bea"}
	leadAgain := lead
	hits++
	leadAgain.HitID = "n-h" + strconv.Itoa(hits)
	s.groups = append(s.groups, []storage.Op{lead, leadAgain})
	s.want["accepted/"]++
	s.want["duplicate/same_profile"]++
	for i := range 3 {
		pb := op(storage.OpPostback, 3*time.Hour)
		pb.ClickID, pb.TxID, pb.ConvStatus, pb.RawStatus = "k"+strconv.Itoa(i), "t1", "approved", "1"
		pb.HasAmount, pb.Amount, pb.Currency = true, usd(7), "USD"
		again := pb
		hits++
		again.HitID = "n-h" + strconv.Itoa(hits)
		s.groups = append(s.groups, []storage.Op{pb, again})
	}
	s.want["accepted/"] += 3
	s.want["duplicate/same_conversion"] += 3

	// The rest, in any order on any node: recurring charges of a0 (no
	// webinar: credited to w1, its acquisition webinar), new customers,
	// registrants converting, and hits delivered twice or three times.
	var rest []storage.Op
	for i := range 30 {
		amount := usd(int64(10 + r.IntN(40)))
		c := conv("rec"+strconv.Itoa(i), email("a", 0), amount, 24*time.Hour+time.Duration(i)*time.Minute)
		c.Source = "backend"
		rest = append(rest, c)
		s.w1Sales++
		s.w1Rev += amount
		s.a0LTV += amount
		s.a0Orders++
	}
	for i := range 20 {
		w := []string{"w1", "w2"}[i%2]
		amount := usd(int64(1 + r.IntN(99)))
		rest = append(rest, conv("new"+strconv.Itoa(i), email("c", i), amount, 5*time.Hour, w))
		if w == "w1" {
			s.w1Sales++
			s.w1Rev += amount
		} else {
			s.w2Sales++
			s.w2Rev += amount
		}
	}
	for i := range 3 { // the registrants buy
		rest = append(rest, conv("reg-buy"+strconv.Itoa(i), email("b", i), usd(20), 6*time.Hour, "w1"))
		s.w1Sales++
		s.w1Rev += usd(20)
	}
	s.want["accepted/"] += len(rest)
	slices.Reverse(rest) // not in time order
	s.rest = rest
	return s
}

// deliveries returns the stream's concurrent part as rounds: each round
// gives each node a batch. Groups go to distinct nodes in one round; the
// rest is spread at random, some hits to two or three nodes (a retried
// delivery), in batches of 1 to 8. It also returns the count of replays
// that makes.
func (s *nodeStream) deliveries(r *rand.Rand) (rounds [][3][]storage.Op, replays int) {
	for _, g := range s.groups {
		var round [3][]storage.Op
		for i, n := range r.Perm(3)[:len(g)] {
			round[n] = []storage.Op{g[i]}
		}
		rounds = append(rounds, round)
	}
	var queues [3][]storage.Op
	for _, o := range s.rest {
		copies := 1
		if r.IntN(4) == 0 {
			copies = 2 + r.IntN(2)
			replays += copies - 1
		}
		for _, n := range r.Perm(3)[:copies] {
			queues[n] = append(queues[n], o)
		}
	}
	for n := range queues {
		r.Shuffle(len(queues[n]), func(i, j int) { queues[n][i], queues[n][j] = queues[n][j], queues[n][i] })
	}
	for k := 0; ; k++ {
		var round [3][]storage.Op
		empty := true
		for n := range queues {
			size := min(1+r.IntN(8), len(queues[n]))
			round[n], queues[n] = queues[n][:size], queues[n][size:]
			empty = empty && size == 0
		}
		if empty {
			return rounds, replays
		}
		rounds = append(rounds, round)
	}
}

func inAccount(ops []storage.Op, acct string) []storage.Op {
	out := slices.Clone(ops)
	for i := range out {
		out[i].Account = acct
	}
	return out
}

// threeNodes runs one stream and returns the accounts it made.
func threeNodes(t *testing.T, r *rand.Rand, nodes [3]*Ledger, single *Ledger) []string {
	ctx := t.Context()
	s := newNodeStream(r)
	rounds, replays := s.deliveries(r)
	s.want["duplicate/replayed_hit"] += replays

	acct, ref := randomID("nodes-"), randomID("one-")
	accounts := []string{acct, ref}
	for _, a := range []string{acct, ref} {
		if err := single.PutAccount(ctx, storage.Account{ID: a, Name: "three nodes", DefaultCurrency: "USD"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := nodes[0].Apply(ctx, inAccount(s.setup, acct)); err != nil {
		t.Fatalf("setup: %v", err)
	}

	// The concurrent part: each round, the three nodes apply their
	// batches at once.
	got := map[string]int{}
	var mu sync.Mutex
	for k, round := range rounds {
		var start, done sync.WaitGroup
		start.Add(1)
		errs := make([]error, 3)
		for n := range nodes {
			done.Go(func() {
				start.Wait()
				if len(round[n]) == 0 {
					return
				}
				res, err := nodes[n].Apply(ctx, inAccount(round[n], acct))
				if err != nil {
					errs[n] = fmt.Errorf("round %d, node %d: %w", k, n, err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for _, x := range res {
					got[string(x.Status)+"/"+x.Reason]++
				}
			})
		}
		start.Done()
		done.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	got["accepted/"] += len(s.setup)
	if !maps.Equal(got, s.want) {
		t.Errorf("results of the three nodes: %v\nwant %v", got, s.want)
	}

	// Every total is exact.
	for w, want := range map[string]storage.WebinarStats{
		"w1": {Registrants: 3, Converted: 17, ConvertedRegistrants: 3, Sales: s.w1Sales, Revenue: map[string]attribution.Micros{"USD": s.w1Rev}},
		"w2": {Converted: 12, Sales: s.w2Sales, Revenue: map[string]attribution.Micros{"USD": s.w2Rev}},
	} {
		if st, err := nodes[1].WebinarStats(ctx, acct, w); err != nil || !reflect.DeepEqual(st, want) {
			t.Errorf("%s: %+v, %v; want %+v", w, st, err, want)
		}
	}
	a0, err := nodes[2].Attendee(ctx, acct, "a0@example.com")
	if err != nil || a0.Orders != s.a0Orders || a0.LTV["USD"] != s.a0LTV || !slices.Equal(a0.Acquisition, []string{"w1"}) {
		t.Errorf("a0: %d orders, LTV %v, acquisition %v (%v); want %d orders, %d USD, w1", a0.Orders, a0.LTV, a0.Acquisition, err, s.a0Orders, s.a0LTV)
	}

	// The same state as one node applying the stream alone, in order.
	var alone []storage.Op
	alone = append(alone, s.setup...)
	for _, g := range s.groups {
		alone = append(alone, g...)
	}
	alone = append(alone, s.rest...)
	if _, err := single.Apply(ctx, inAccount(alone, ref)); err != nil {
		t.Fatalf("the stream on one node: %v", err)
	}
	three, err := nodes[0].DumpAccount(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	one, err := single.DumpAccount(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	one.Account.ID = acct
	if !reflect.DeepEqual(three, one) {
		t.Errorf("three nodes and one differ (-one +three):\n%s", ledgertest.Diff(one, three))
	}
	return accounts
}
