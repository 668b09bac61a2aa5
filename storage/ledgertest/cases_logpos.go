package ledgertest

import (
	"time"

	"github.com/pixelpost/pixelpost/storage"
)

// logged places an op at pos of hits log log (as the applier does).
func (o op) logged(log string, pos uint64) op { o.Log, o.Pos = log, pos; return o }

// kept says the applier's saved cursor in the op's log is at pos.
func (o op) kept(pos uint64) op { o.Kept = pos; return o }

// logCases: exactly once by log position (docs/ledger.md "Exactly once").
func logCases() []testCase {
	return []testCase{
		{"replays_are_known_by_their_place_in_their_log", func(f *fixture) {
			log, other := randomID("log-"), randomID("log-")
			first := f.conv("o1").webinars("w1").amount("10").logged(log, 1)
			f.expect(first, accepted(m("10"), "", "w1"))
			f.expect(f.conv("o2").webinars("w1").amount("5").logged(log, 2), accepted(m("5"), "", "w1"))
			// The record at a place the ledger passed is a replay, whatever
			// its hit id, and gets back what its first application decided.
			r := f.do(f.conv("o1").webinars("w1").amount("99").logged(log, 1))
			f.checkResult("replay under another hit id", r, replayed())
			if r.Original == nil || r.Original.Status != storage.StatusAccepted || r.Original.Delta != m("10") {
				f.Errorf("replay's original result: %+v, want accepted +10", r.Original)
			}
			// Past the mark an op is new, whatever its hit id; another log
			// has a mark of its own.
			f.expect(first.logged(log, 3).amount("12"), updated(m("2"), "", "w1"))
			f.expect(f.conv("o3").webinars("w1").amount("1").logged(other, 1), accepted(m("1"), "", "w1"))
			f.wantStats("w1", storage.WebinarStats{Sales: 3, Revenue: money("USD", "18")})
		}},
		{"kept_results_go_once_the_cursor_passes_them", func(f *fixture) {
			log := randomID("log-")
			f.expect(f.conv("o1").webinars("w1").amount("10").logged(log, 1), accepted(m("10"), "", "w1"))
			if r := f.do(f.conv("o1").logged(log, 1)); r.Original == nil {
				f.Errorf("replay before the cursor passed it: %+v, want its original result", r)
			}
			// The applier saved its cursor past the first op: it will
			// never be read again, and its result may go.
			f.expect(f.conv("o2").webinars("w1").amount("5").logged(log, 2).kept(1), accepted(m("5"), "", "w1"))
			r := f.do(f.conv("o1").logged(log, 1))
			f.checkResult("replay after the cursor passed it", r, replayed())
			if r.Original != nil {
				f.Errorf("replay after the cursor passed it keeps its original result %+v", r.Original)
			}
		}},
		{"erasure_scrubs_the_results_kept_for_replays", func(f *fixture) {
			// A conversion pixel's result names its person and the click
			// it converted, whose macros are the traffic source's ids of
			// the person's visit: after the erasure a replay learns none
			// of it.
			log, a := randomID("log-"), "ann@example.com"
			f.do(f.click("k1", "camp", nil).logged(log, 1))
			px := f.postback("k1").fromPixel().payout("10").email(a).logged(log, 2)
			if r := f.do(px); r.Status != storage.StatusAccepted || r.AttendeeID != eid(a) {
				f.Fatalf("pixel conversion: %s", fmtResult(r))
			}
			bob := f.conv("ob").webinars("w1").amount("3").email("bob@example.com").logged(log, 3)
			f.do(bob)
			f.erase(a, time.Hour)
			r := f.do(px)
			f.checkResult("replay of the erased person's conversion", r, replayed())
			if o := r.Original; o != nil && (o.AttendeeID != "" || o.Conversion != nil && len(o.Conversion.Macros) > 0) {
				f.Errorf("replay after the erasure names the person or the visit: %+v %+v", o, o.Conversion)
			}
			// Another person's kept result stays.
			if r := f.do(bob); r.Original == nil || r.Original.AttendeeID != eid("bob@example.com") {
				f.Errorf("another person's kept result after the erasure: %+v", r.Original)
			}
		}},
	}
}
