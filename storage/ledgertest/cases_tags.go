package ledgertest

import (
	"time"

	"github.com/pixelpost/pixelpost/storage"
)

func tagCases() []testCase {
	return []testCase{
		{"tags_resolve_at_hit_time", func(f *fixture) {
			a := "nia@example.com"
			// Nothing carries the tag yet.
			f.expect(f.conv("o1").tags("t1").amount("10"), rejected(storage.ReasonNoWebinar, ""))
			f.expect(f.conv("o2").tags("t1").amount("10").email(a), accepted(m("10"), eid(a)))
			f.wantWebinars()

			f.putWebinar("w1", "One", "t1")
			f.expect(f.conv("o3").tags("t1").amount("10").at(time.Minute), accepted(m("10"), "", "w1"))
			// A webinar tagged later is included from then on.
			f.putWebinar("w2", "Two", "t1")
			f.expect(f.conv("o4").tags("t1").amount("10").at(2*time.Minute), accepted(m("10"), "", "w1", "w2"))
			// Retagging removes a webinar from later hits only.
			f.putWebinar("w1", "One", "t2")
			f.expect(f.conv("o5").tags("t1").amount("10").at(3*time.Minute), accepted(m("10"), "", "w2"))
			f.expect(f.conv("o6").tags("t2").amount("10").at(4*time.Minute), accepted(m("10"), "", "w1"))
			// A later sighting resolves its tags at its own time.
			f.expect(f.conv("o3").tags("t1").at(5*time.Minute), updated(0, "", "w1", "w2"))

			f.wantStats("w1", storage.WebinarStats{Sales: 3, Revenue: money("USD", "30")})
			f.wantStats("w2", storage.WebinarStats{Sales: 3, Revenue: money("USD", "30")})
			f.wantWebinars(
				storage.Webinar{ID: "w1", Name: "One", Tags: []string{"t2"}},
				storage.Webinar{ID: "w2", Name: "Two", Tags: []string{"t1"}},
			)
		}},
		{"explicit_webinars_and_tag_members_union", func(f *fixture) {
			a := "ola@example.com"
			f.putWebinar("w5", "", "t2")
			f.putWebinar("w1", "", "t2", "t1")
			f.putWebinar("w4", "", "t2")
			f.putWebinar("w2", "", "t1")
			f.putWebinar("w6", "", "t1")
			f.putWebinar("w3", "")
			// Explicit webinars in the given order without duplicates, then
			// each tag's members sorted by id, those already credited dropped.
			R := []string{"w3", "w1", "w4", "w5", "w2", "w6"}
			f.expect(f.conv("o1").webinars("w3", "w1", "w3").tags("t2", "t1", "t2").amount("3").email(a),
				accepted(m("3"), eid(a), R...))
			f.expect(f.reg("w3", "w1", "w3").tags("t2", "t1").email(a).at(time.Minute), registered(eid(a), R...))
			for _, w := range R {
				f.wantStats(w, storage.WebinarStats{Registrants: 1, Converted: 1, ConvertedRegistrants: 1, Sales: 1, Revenue: money("USD", "3")})
			}
			f.wantAttendee(a, storage.Attendee{
				Orders: 1, LTV: money("USD", "3"),
				Webinars: []string{"w1", "w2", "w3", "w4", "w5", "w6"}, Acquisition: R,
				OrderList: []storage.Order{{Key: "o1", OrderID: "o1", Amount: m("3"), Currency: "USD", Webinars: R,
					AttendeeID: eid(a), Source: "pixel", FirstSeen: base, LastSeen: base}},
			})
		}},
		{"webinar_first_seen_in_hit_listed_untagged", func(f *fixture) {
			f.do(f.conv("o1").webinars("wz", "wa").amount("1"))
			f.do(f.reg("wm").email("pia@example.com"))
			f.wantWebinars(storage.Webinar{ID: "wa"}, storage.Webinar{ID: "wm"}, storage.Webinar{ID: "wz"})
			// Configuring it later names it; later hits do not reset it.
			f.putWebinar("wa", "Alpha", "t")
			f.do(f.conv("o2").webinars("wa").amount("1").at(time.Minute))
			f.wantWebinars(storage.Webinar{ID: "wa", Name: "Alpha", Tags: []string{"t"}}, storage.Webinar{ID: "wm"}, storage.Webinar{ID: "wz"})
			f.wantStats("wa", storage.WebinarStats{Sales: 2, Revenue: money("USD", "2")})
		}},
	}
}

// putWebinar configures a webinar of the fixture's account.
func (f *fixture) putWebinar(id, name string, tags ...string) {
	f.Helper()
	if err := f.l.PutWebinar(f.ctx, f.acct, storage.Webinar{ID: id, Name: name, Tags: tags}); err != nil {
		f.Fatalf("PutWebinar(%s): %v", id, err)
	}
}
