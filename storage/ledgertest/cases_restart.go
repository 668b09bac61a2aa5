package ledgertest

import (
	"time"

	"github.com/pixelpost/pixelpost/storage"
)

func restartCases() []testCase {
	return []testCase{
		{"restart_keeps_everything", func(f *fixture) {
			a, b := "rea@example.com", "reb@example.com"
			f.putWebinar("w1", "One", "t")
			f.expect(f.reg("w1").email(a).cookie("ck-ra"), registered(eid(a), "w1"))
			paid := f.conv("o1").webinars("w1").amount("10").email(a).product("p", "Product").at(time.Minute)
			f.expect(paid, accepted(m("10"), eid(a), "w1"))
			f.expect(f.conv("o2").webinars("w2").amount("20").currency("EUR").email(a).at(2*time.Minute), accepted(m("20"), eid(a), "w2"))
			f.expect(f.reg("w2").email(b).at(3*time.Minute), registered(eid(b), "w2"))
			fp := f.conv("fp").orderID("").webinars("w3").window(30 * time.Minute).amount("1").at(4 * time.Minute)
			f.expect(fp, accepted(m("1"), "", "w3"))
			rejectedHit := f.conv("o3").amount("1").at(5 * time.Minute)
			f.expect(rejectedHit, rejected(storage.ReasonNoWebinar, ""))

			acct, err := f.l.Account(f.ctx, f.acct)
			if err != nil {
				f.Fatalf("Account: %v", err)
			}
			before := f.snapshot(f.acct, a, b)

			f.reopen()

			if got, err := f.l.Account(f.ctx, f.acct); err != nil || got != acct {
				f.Errorf("Account after reopen: %+v, %v; want %+v", got, err, acct)
			}
			f.sameSnapshot("reads after reopen", f.snapshot(f.acct, a, b), before)
			// Hit ids are remembered, accepted and rejected alike.
			f.expect(paid, replayed())
			f.expect(fp, replayed())
			f.expect(rejectedHit, replayed())
			// Orders, windows, cookie links and the tag index are kept.
			f.expect(paid.hit(randomID("hit-")).at(6*time.Minute), sameOrder(eid(a), "w1"))
			f.expect(fp.hit(randomID("hit-")).at(7*time.Minute), sameOrder("", "w3"))
			f.expect(f.conv("o4").tags("t").amount("2").cookie("ck-ra").at(8*time.Minute), accepted(m("2"), eid(a), "w1"))
			f.expect(f.reg("w2").email(b).at(9*time.Minute), alreadyRegistered(eid(b), "w2"))
			f.wantStats("w1", storage.WebinarStats{Registrants: 1, Converted: 1, ConvertedRegistrants: 1, Sales: 2, Revenue: money("USD", "12")})
		}},
	}
}
