package ledgertest

import (
	"github.com/pixelpost/pixelpost/storage"
)

// statusCases walk the postback status machine (attribution.Transition,
// docs/ledger.md "Clicks, postbacks and leads"): every (from, to) pair of
// pending, approved, declined and chargeback, one line each.
func statusCases() []testCase {
	return []testCase{
		{"postback_status_machine_all_16_pairs", func(f *fixture) {
			const (
				ok  = storage.StatusUpdated
				dup = storage.StatusDuplicate
				no  = storage.StatusRejected
			)
			// f: a conversion first reported as from with payout 10, then as
			// to with payout: the second postback's status, reason and
			// revenue delta, and the conversion stored after it (to when
			// updated, else from as it was).
			pair := func(from, to, payout string, want storage.Status, reason, delta string) {
				f.Helper()
				click := "sp-" + from + "-" + to
				f.do(f.click(click, "camp", nil))
				first := f.postback(click).txid("t").payout("10").status(from)
				first.RawStatus = "raw-" + from
				wantFirst := "0"
				if from == "approved" {
					wantFirst = "10"
				}
				f.wantConv(first, storage.StatusAccepted, "", m(wantFirst), "", m("10"))
				second := f.postback(click).txid("t").payout(payout).status(to).late(1)
				second.RawStatus = "raw-" + to
				f.wantConv(second, want, reason, m(delta), from, m(payout))
				stored := storage.ConvRec{Status: from, RawStatus: "raw-" + from, Value: int64(m("10")), Currency: "USD"}
				if want == ok {
					stored = storage.ConvRec{Status: to, RawStatus: "raw-" + to, Value: int64(m(payout)), Currency: "USD"}
				}
				key := storage.HashID(storage.ConvKey(click, "t", ""))
				if got, found := f.state().Conversions[key]; !found || got != stored {
					f.Errorf("%s -> %s: stored conversion %+v (found %v), want %+v", from, to, got, found, stored)
				}
			}
			pair("pending", "pending", "10", dup, storage.ReasonSameConversion, "0")
			pair("pending", "approved", "10", ok, "", "10")
			pair("pending", "declined", "10", ok, "", "0")
			pair("pending", "chargeback", "10", no, storage.ReasonBadTransition, "0")
			pair("approved", "pending", "10", no, storage.ReasonBadTransition, "0")
			pair("approved", "approved", "12", ok, "", "2") // a new payout: the difference
			pair("approved", "declined", "10", ok, "", "-10")
			pair("approved", "chargeback", "10", ok, "", "-10")
			pair("declined", "pending", "10", no, storage.ReasonBadTransition, "0")
			pair("declined", "approved", "10", ok, "", "10")
			pair("declined", "declined", "10", dup, storage.ReasonSameConversion, "0")
			pair("declined", "chargeback", "10", no, storage.ReasonBadTransition, "0")
			pair("chargeback", "pending", "10", no, storage.ReasonBadTransition, "0")
			pair("chargeback", "approved", "10", no, storage.ReasonBadTransition, "0")
			pair("chargeback", "declined", "10", no, storage.ReasonBadTransition, "0")
			pair("chargeback", "chargeback", "12", ok, "", "0") // final, but its value may be corrected
		}},
	}
}
