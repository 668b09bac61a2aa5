package ledgertest

import (
	"strconv"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

const concurrency = 50

func batchCases() []testCase {
	return []testCase{
		{"batch_equals_one_by_one", func(f *fixture) {
			// The same ops fed to three accounts: in one Apply, one by one,
			// and in batches of 4. Results and every read must agree.
			one, single, fours := f.acct, f.newAccount(), f.newAccount()
			for _, acct := range []string{one, single, fours} {
				if err := f.l.PutWebinar(f.ctx, acct, storage.Webinar{ID: "w1", Name: "One", Tags: []string{"t"}}); err != nil {
					f.Fatalf("PutWebinar: %v", err)
				}
			}
			all := f.mixedOps(one)
			got := f.apply(all...)

			ops := f.mixedOps(single)
			want := make([]storage.Result, 0, len(ops))
			for _, o := range ops {
				want = append(want, f.do(o))
			}
			ops = f.mixedOps(fours)
			var fourRes []storage.Result
			for i := 0; i < len(ops); i += 4 {
				fourRes = append(fourRes, f.apply(ops[i:min(i+4, len(ops))]...)...)
			}
			for i := range want {
				f.checkResult("op "+strconv.Itoa(i)+" in one batch", got[i], want[i])
				f.checkResult("op "+strconv.Itoa(i)+" in batches of 4", fourRes[i], want[i])
			}
			emails := []string{"ann@example.com", "bob@example.com", "cat@example.com"}
			ref := f.snapshot(single, emails...)
			f.sameSnapshot("one batch vs one by one", f.snapshot(one, emails...), ref)
			f.sameSnapshot("batches of 4 vs one by one", f.snapshot(fours, emails...), ref)
			// And the one-by-one reference is what the rules say.
			s := ref.Stats["w1"]
			if s.Sales != 6 || s.Registrants != 1 || s.Converted != 2 || s.ConvertedRegistrants != 1 {
				f.Errorf("w1 stats after the mixed ops: %s", dump(s))
			}
		}},
		{"empty_batch", func(f *fixture) {
			res, err := f.l.Apply(f.ctx, nil)
			if err != nil || len(res) != 0 {
				f.Errorf("Apply(nil) = %v, %v; want no results, no error", res, err)
			}
		}},
		{"batch_spans_accounts", func(f *fixture) {
			// One batch, several accounts (on Redis Cluster: several slots).
			other, ghost := f.newAccount(), randomID("lt-ghost-")
			a := "span@example.com"
			o := f.conv("o1").webinars("w1").amount("10").email(a)
			res := f.apply(o, o.hit(randomID("hit-")).account(other).amount("20"), o.hit(randomID("hit-")).account(ghost),
				o.hit(randomID("hit-")).amount("15"), o)
			f.checkResult("account 1", res[0], accepted(m("10"), eid(a), "w1"))
			f.checkResult("account 2", res[1], accepted(m("20"), eid(a), "w1"))
			f.checkResult("unknown account", res[2], rejected(storage.ReasonUnknownAccount, ""))
			f.checkResult("account 1 again", res[3], updated(m("5"), eid(a), "w1"))
			f.checkResult("account 1 replay", res[4], replayed())
			f.wantStats("w1", storage.WebinarStats{Converted: 1, Sales: 1, Revenue: money("USD", "15")})
			s, err := f.l.WebinarStats(f.ctx, other, "w1")
			if err != nil || s.Sales != 1 || s.Revenue["USD"] != m("20") {
				f.Errorf("other account's stats: %+v, %v", s, err)
			}
		}},
		{"concurrent_identical_orders_count_once", func(f *fixture) {
			a := "cc@example.com"
			o := f.conv("o1").webinars("w1").amount("25").email(a)
			res := f.concurrently(concurrency, func(int) (storage.Result, error) {
				return f.applyOne(o.hit(randomID("hit-")))
			})
			f.wantIdenticalOrders(res, a)
		}},
		{"concurrent_replays_apply_once", func(f *fixture) {
			o := f.conv("o1").webinars("w1").amount("25")
			res := f.concurrently(concurrency, func(int) (storage.Result, error) { return f.applyOne(o) })
			f.wantReplays(res)
		}},
		{"concurrent_distinct_orders_all_count", func(f *fixture) {
			a := "dd@example.com"
			res := f.concurrently(concurrency, func(i int) (storage.Result, error) {
				return f.applyOne(f.conv("o" + strconv.Itoa(i)).webinars("w1").amount("1").email(a))
			})
			f.wantDistinctOrders(res, a)
		}},
	}
}

// mixedOps is a sequence that touches the same orders, attendees and
// webinars several times, with replays and rejections, for acct. Hit ids are
// fresh per call, so the sequence can be fed to several accounts.
func (f *fixture) mixedOps(acct string) []op {
	a, b, c := "ann@example.com", "bob@example.com", "cat@example.com"
	t := func(i int) time.Duration { return time.Duration(i) * time.Minute }
	var ops []op
	add := func(o op) op {
		o = o.account(acct).at(t(len(ops)))
		ops = append(ops, o)
		return o
	}
	late := func(o op) { ops = append(ops, o.account(acct).at(t(len(ops))+time.Hour)) }
	add(f.reg("w1").email(a).cookie("ck-a"))
	first := add(f.conv("o1").webinars("w1").amount("10").email(a))
	add(f.conv("o1").webinars("w1", "w2").amount("12").email(a))
	add(f.conv("o1").currency("EUR").amount("12"))
	ops = append(ops, first.at(t(len(ops)))) // a replay within the batch
	add(f.conv("o2").amount("5").email(a))   // to the acquisition webinars
	add(f.conv("o3").tags("t").amount("3").cookie("ck-a"))
	add(f.reg("w2").email(b))
	add(f.reg("w2").email(b))
	add(f.conv("o4").webinars("w2").amount("7"))
	add(f.conv("o4").email(b))
	fp := add(f.conv("fp").orderID("").webinars("w1").window(30 * time.Minute).amount("1"))
	add(fp.hit(randomID("hit-")).amount("2"))
	late(fp.hit(randomID("hit-")).amount("2")) // after the window: a new order
	add(f.conv("o5").amount("9"))
	add(f.reg("w3").email(c).cookie("ck-c"))
	add(f.conv("o6").webinars("w3").amount("2").cookie("ck-c"))
	add(f.conv("o1").amount("8").email(c))
	add(f.conv("o7").webinars("w1").amount("4").currency("EUR").email(c))
	add(f.conv("o7").webinars("w1").amount("0").currency("EUR").email(c))
	return ops
}

// wantIdenticalOrders checks concurrent sightings of one order (amount 25,
// webinar w1, attendee email) with distinct hit ids: one sale.
func (f *fixture) wantIdenticalOrders(res []storage.Result, email string) {
	f.Helper()
	if got := tally(res); got["accepted"] != 1 || got["duplicate/same_order"] != concurrency-1 {
		f.Errorf("outcomes of %d identical orders: %v; want 1 accepted, %d duplicate/same_order", concurrency, got, concurrency-1)
	}
	for _, r := range res {
		want := sameOrder(eid(email), "w1")
		if r.Status == storage.StatusAccepted {
			want = accepted(m("25"), eid(email), "w1")
		}
		f.checkResult("concurrent sighting", r, want)
	}
	f.wantStats("w1", storage.WebinarStats{Converted: 1, Sales: 1, Revenue: money("USD", "25")})
	a := f.attendee(email)
	if a.Orders != 1 || a.LTV["USD"] != m("25") || len(a.OrderList) != 1 {
		f.Errorf("attendee after %d identical orders: %s", concurrency, dump(a))
	}
}

// wantReplays checks concurrent applications of one hit (amount 25, webinar
// w1): applied once.
func (f *fixture) wantReplays(res []storage.Result) {
	f.Helper()
	if got := tally(res); got["accepted"] != 1 || got["duplicate/replayed_hit"] != concurrency-1 {
		f.Errorf("outcomes of %d replays: %v; want 1 accepted, %d duplicate/replayed_hit", concurrency, got, concurrency-1)
	}
	for _, r := range res {
		want := replayed()
		if r.Status == storage.StatusAccepted {
			want = accepted(m("25"), "", "w1")
		}
		f.checkResult("concurrent replay", r, want)
	}
	f.wantStats("w1", storage.WebinarStats{Sales: 1, Revenue: money("USD", "25")})
}

// wantDistinctOrders checks concurrent distinct orders of 1 USD each for
// webinar w1 and one attendee: every one counts, no update is lost.
func (f *fixture) wantDistinctOrders(res []storage.Result, email string) {
	f.Helper()
	if got := tally(res); got["accepted"] != concurrency {
		f.Errorf("outcomes of %d distinct orders: %v; want all accepted", concurrency, got)
	}
	total := m(strconv.Itoa(concurrency))
	f.wantStats("w1", storage.WebinarStats{Converted: 1, Sales: concurrency, Revenue: map[string]attribution.Micros{"USD": total}})
	a := f.attendee(email)
	if a.Orders != concurrency || a.LTV["USD"] != total || len(a.OrderList) != concurrency {
		f.Errorf("attendee after %d orders: orders %d, LTV %v, %d in order list", concurrency, a.Orders, a.LTV, len(a.OrderList))
	}
}
