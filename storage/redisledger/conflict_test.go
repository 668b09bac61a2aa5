package redisledger

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/internal/testenv"
	"github.com/pixelpost/pixelpost/storage"
)

// nodes opens n ledgers, each with its own client and cache, as n
// pixelpost nodes would be, on the standalone server or the cluster.
func nodes(t *testing.T, cluster bool, n int) []*Ledger {
	t.Helper()
	out := make([]*Ledger, n)
	for i := range out {
		var c redis.UniversalClient
		if cluster {
			c = redis.NewClusterClient(&redis.ClusterOptions{Addrs: testenv.RedisCluster(t)})
		} else {
			opt, err := redis.ParseURL(testenv.Redis(t))
			if err != nil {
				t.Fatal(err)
			}
			c = redis.NewClient(opt)
		}
		t.Cleanup(func() { c.Close() })
		out[i] = New(c, Config{})
	}
	return out
}

// A node deciding from a record another node changed since is refused and
// decides again: the stale amount it cached is not the one it applies the
// difference to.
func TestStaleNodeDecidesAgain(t *testing.T) {
	for _, cluster := range []bool{false, true} {
		t.Run(map[bool]string{false: "standalone", true: "cluster"}[cluster], func(t *testing.T) {
			n := nodes(t, cluster, 2)
			acct := newAccount(t, n[0])
			order := func(node, amount int, pos uint64) storage.Op {
				o := conv(acct, "o1", int64ToMicros(amount))
				o.AttendeeEmail, o.Log, o.Pos = "ann@example.com", fmt.Sprintf("node%d", node), pos
				return o
			}
			steps := []struct {
				node, amount int
				pos          uint64
				want         string
				delta        int
			}{
				{0, 10, 1, "accepted", 10},
				{1, 15, 1, "updated", 5},   // node 1 never saw the order: it learns it
				{0, 20, 2, "updated", 5},   // node 0 holds 10: refused, learns 15
				{1, 20, 2, "duplicate", 0}, // and node 1 learns 20
			}
			for i, s := range steps {
				r := applyOK(t, n[s.node], order(s.node, s.amount, s.pos))[0]
				if string(r.Status) != s.want || r.Delta != int64ToMicros(s.delta) {
					t.Errorf("step %d on node %d: %+v, want %s %d", i, s.node, r, s.want, s.delta)
				}
			}
			st, err := n[1].WebinarStats(t.Context(), acct, "w1")
			if err != nil || st.Sales != 1 || st.Revenue["USD"] != int64ToMicros(20) {
				t.Errorf("stats: %+v, %v", st, err)
			}
			a, err := n[0].Attendee(t.Context(), acct, "ann@example.com")
			if err != nil || a.Orders != 1 || a.LTV["USD"] != int64ToMicros(20) {
				t.Errorf("attendee: %+v, %v", a, err)
			}
		})
	}
}

// Three nodes apply one stream, split between them at random, each from a
// log of its own and concurrently: new orders, the same order refreshed on
// two nodes at once, recurring charges of one customer on all three,
// registrations, and replays of what a node applied. Every total is exact,
// every replay recognised, and the state is the one a single node reaches.
func TestThreeNodesStayExact(t *testing.T) {
	for _, cluster := range []bool{false, true} {
		t.Run(map[bool]string{false: "standalone", true: "cluster"}[cluster], func(t *testing.T) {
			n := nodes(t, cluster, 4) // three nodes, and one alone for the reference
			acct, alone := newAccount(t, n[0]), newAccount(t, n[3])
			r := rand.New(rand.NewPCG(7, 7))
			var stream []storage.Op
			add := func(o storage.Op) { stream = append(stream, o) }
			for i := range 200 {
				// Order k comes back 3 or 4 times (refreshes, the same on
				// whichever node), always from its buyer.
				k := i % 60
				buyer := fmt.Sprintf("c%d@example.com", k%40)
				o := conv(acct, fmt.Sprintf("o%d", k), int64ToMicros(10+k))
				o.AttendeeEmail, o.Webinars = buyer, []string{fmt.Sprintf("w%d", k%3)}
				add(o)
				// The loyal customer's monthly charge: a new order each time,
				// no webinar (its acquisition webinar gets it).
				charge := conv(acct, fmt.Sprintf("r%d", i), int64ToMicros(5))
				charge.AttendeeEmail, charge.Webinars = "loyal@example.com", nil
				if i == 0 {
					charge.Webinars = []string{"w0"} // the first one acquires
				}
				add(charge)
				if i%5 == 0 {
					add(storage.Op{HitID: randomID("hit-"), Account: acct, Kind: storage.OpRegistration, Time: base,
						Webinars: []string{fmt.Sprintf("w%d", k%3)}, AttendeeEmail: buyer})
				}
			}
			// Split at random; within a node, its log's order.
			perNode := make([][]storage.Op, 3)
			for _, o := range stream {
				k := r.IntN(3)
				if o.OrderKey == "r0" {
					k = 0
				}
				o.Log, o.Pos = fmt.Sprintf("%s-node%d", acct, k), uint64(len(perNode[k])+1)
				perNode[k] = append(perNode[k], o)
			}
			// The first charge goes first: the later ones go to its webinar.
			if _, err := n[0].Apply(t.Context(), perNode[0][:2]); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var replays sync.Map
			for k := range 3 {
				wg.Go(func() {
					ops := perNode[k][2*boolInt(k == 0):]
					for start := 0; start < len(ops); start += 16 {
						batch := ops[start:min(start+16, len(ops))]
						if _, err := n[k].Apply(context.Background(), batch); err != nil {
							t.Error(err)
							return
						}
						// A replay of the batch (a crash before the cursor was
						// saved): all recognised.
						if start%48 == 0 {
							res, err := n[k].Apply(context.Background(), batch)
							if err != nil {
								t.Error(err)
								return
							}
							for _, x := range res {
								if x.Reason != storage.ReasonReplayedHit {
									t.Errorf("replay on node %d: %+v", k, x)
								}
								replays.Store(fmt.Sprint(k, start), true)
							}
						}
					}
				})
			}
			wg.Wait()
			// The reference: one node, the whole stream in order, on an
			// account of its own.
			ref := make([]storage.Op, len(stream))
			for i, o := range stream {
				o.Account, o.Log, o.Pos = alone, "alone", uint64(i+1)
				ref[i] = o
			}
			for start := 0; start < len(ref); start += 64 {
				applyOK(t, n[3], ref[start:min(start+64, len(ref))]...)
			}
			ctx := t.Context()
			for _, w := range []string{"w0", "w1", "w2"} {
				got, err1 := n[1].WebinarStats(ctx, acct, w)
				want, err2 := n[3].WebinarStats(ctx, alone, w)
				if err1 != nil || err2 != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("%s: three nodes %+v (%v), one node %+v (%v)", w, got, err1, want, err2)
				}
			}
			loyal, err := n[2].Attendee(ctx, acct, "loyal@example.com")
			if err != nil || loyal.Orders != 200 || loyal.LTV["USD"] != int64ToMicros(5*200) ||
				!reflect.DeepEqual(loyal.Acquisition, []string{"w0"}) {
				t.Errorf("the loyal customer: orders %d, LTV %v, acquisition %v, %v", loyal.Orders, loyal.LTV, loyal.Acquisition, err)
			}
			for i := range 40 {
				email := fmt.Sprintf("c%d@example.com", i)
				got, err1 := n[0].Attendee(ctx, acct, email)
				want, err2 := n[3].Attendee(ctx, alone, email)
				if err1 != nil || err2 != nil || got.Orders != want.Orders || !reflect.DeepEqual(got.LTV, want.LTV) ||
					!reflect.DeepEqual(got.Webinars, want.Webinars) || len(got.OrderList) != len(want.OrderList) {
					t.Errorf("%s: three nodes %+v (%v), one node %+v (%v)", email, got, err1, want, err2)
				}
			}
			count := 0
			replays.Range(func(any, any) bool { count++; return true })
			if count == 0 {
				t.Error("no replay tried")
			}
		})
	}
}

// An account another node creates is one this node knows at once, though
// it refused an op of it just before.
func TestAccountCreatedByAnotherNode(t *testing.T) {
	n := nodes(t, false, 2)
	acct := randomID("rl-")
	o := conv(acct, "o1", 1)
	if r := applyOK(t, n[0], o)[0]; r.Reason != storage.ReasonUnknownAccount {
		t.Fatalf("op of an account that does not exist: %+v", r)
	}
	if err := n[1].PutAccount(t.Context(), storage.Account{ID: acct, DefaultCurrency: "USD"}); err != nil {
		t.Fatal(err)
	}
	o.HitID = randomID("hit-")
	if r := applyOK(t, n[0], o)[0]; r.Status != storage.StatusAccepted {
		t.Fatalf("op of the account once another node created it: %+v", r)
	}
}

func int64ToMicros(units int) attribution.Micros {
	return attribution.Micros(units) * attribution.MicrosPerUnit
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
