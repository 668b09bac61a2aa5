package attribution

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const usd = 1_000_000 // one dollar in Micros

// acquisitions is a fixed table of attendees' acquisition webinars.
func acquisitions(m map[string][]string) func(string) []string {
	return func(id string) []string { return m[id] }
}

func TestSight(t *testing.T) {
	stored := func(amount Micros, attendee string, webinars ...string) *Order {
		return &Order{Amount: amount, Currency: "USD", Webinars: webinars, AttendeeID: attendee, FirstSeen: t0, LastSeen: t0}
	}
	later := t0.Add(5 * time.Minute)
	tests := []struct {
		name        string
		prev        *Order
		s           Sighting
		acquisition map[string][]string
		want        Effect
	}{
		{
			name: "first sighting credits R",
			s: Sighting{Time: t0, Webinars: []string{"w1", "w2"}, AttendeeID: "e_ann",
				HasAmount: true, Amount: 49_990_000, Currency: "USD"},
			want: Effect{Outcome: OutcomeNew, Diff: 49_990_000, Added: []string{"w1", "w2"},
				AttachAttendee: true, Acquire: true,
				Order: Order{Amount: 49_990_000, Currency: "USD", Webinars: []string{"w1", "w2"},
					AttendeeID: "e_ann", FirstSeen: t0, LastSeen: t0}},
		},
		{
			name: "first sighting without amount counts 0",
			s:    Sighting{Time: t0, Webinars: []string{"w1"}, HasAmount: false, Amount: 7 * usd, Currency: "USD"},
			want: Effect{Outcome: OutcomeNew, Diff: 0, Added: []string{"w1"},
				Order: Order{Amount: 0, Currency: "USD", Webinars: []string{"w1"}, FirstSeen: t0, LastSeen: t0}},
		},
		{
			name:        "later sighting replaces the amount",
			prev:        stored(49_990_000, "e_ann", "w1"),
			acquisition: map[string][]string{"e_ann": {"w1"}},
			s:           Sighting{Time: later, Webinars: []string{"w1"}, AttendeeID: "e_ann", HasAmount: true, Amount: 59_990_000, Currency: "USD"},
			want: Effect{Outcome: OutcomeUpdated, Diff: 10 * usd, Existing: []string{"w1"},
				Order: Order{Amount: 59_990_000, Currency: "USD", Webinars: []string{"w1"}, AttendeeID: "e_ann", FirstSeen: t0, LastSeen: later}},
		},
		{
			name:        "a lower amount gives a negative diff",
			prev:        stored(49_990_000, "e_ann", "w1"),
			acquisition: map[string][]string{"e_ann": {"w1"}},
			s:           Sighting{Time: later, Webinars: []string{"w1"}, HasAmount: true, Amount: 29_990_000, Currency: "USD"},
			want: Effect{Outcome: OutcomeUpdated, Diff: -20 * usd, Existing: []string{"w1"},
				Order: Order{Amount: 29_990_000, Currency: "USD", Webinars: []string{"w1"}, AttendeeID: "e_ann", FirstSeen: t0, LastSeen: later}},
		},
		{
			name: "an amount of zero replaces too",
			prev: stored(49_990_000, "", "w1"),
			s:    Sighting{Time: later, Webinars: []string{"w1"}, HasAmount: true, Amount: 0, Currency: "USD"},
			want: Effect{Outcome: OutcomeUpdated, Diff: -49_990_000, Existing: []string{"w1"},
				Order: Order{Amount: 0, Currency: "USD", Webinars: []string{"w1"}, FirstSeen: t0, LastSeen: later}},
		},
		{
			name: "absent amount keeps the amount",
			prev: stored(49_990_000, "", "w1"),
			s:    Sighting{Time: later, Webinars: []string{"w1"}, HasAmount: false, Currency: "USD"},
			want: Effect{Outcome: OutcomeSame, Diff: 0, Existing: []string{"w1"},
				Order: Order{Amount: 49_990_000, Currency: "USD", Webinars: []string{"w1"}, FirstSeen: t0, LastSeen: later}},
		},
		{
			name: "webinars named later are added",
			prev: stored(10*usd, "", "w1"),
			s:    Sighting{Time: later, Webinars: []string{"w2", "w1", "w3", "w2"}, Currency: "USD"},
			want: Effect{Outcome: OutcomeUpdated, Diff: 0, Existing: []string{"w1"}, Added: []string{"w2", "w3"},
				Order: Order{Amount: 10 * usd, Currency: "USD", Webinars: []string{"w1", "w2", "w3"}, FirstSeen: t0, LastSeen: later}},
		},
		{
			name: "webinars added with a new amount",
			prev: stored(10*usd, "", "w1"),
			s:    Sighting{Time: later, Webinars: []string{"w2"}, HasAmount: true, Amount: 12 * usd, Currency: "USD"},
			want: Effect{Outcome: OutcomeUpdated, Diff: 2 * usd, Existing: []string{"w1"}, Added: []string{"w2"},
				Order: Order{Amount: 12 * usd, Currency: "USD", Webinars: []string{"w1", "w2"}, FirstSeen: t0, LastSeen: later}},
		},
		{
			name: "a later hit without webinars keeps the credited ones",
			prev: stored(10*usd, "", "w1"),
			s:    Sighting{Time: later, HasAmount: true, Amount: 11 * usd, Currency: "USD"},
			want: Effect{Outcome: OutcomeUpdated, Diff: 1 * usd, Existing: []string{"w1"},
				Order: Order{Amount: 11 * usd, Currency: "USD", Webinars: []string{"w1"}, FirstSeen: t0, LastSeen: later}},
		},
		{
			name: "currency mismatch is rejected",
			prev: stored(10*usd, "e_ann", "w1"),
			s:    Sighting{Time: later, Webinars: []string{"w2"}, HasAmount: true, Amount: 9 * usd, Currency: "EUR"},
			want: Effect{Outcome: OutcomeCurrencyMismatch},
		},
		{
			name:        "webinar-less recurring charge credits the acquisition webinars",
			s:           Sighting{Time: t0, AttendeeID: "e_ann", HasAmount: true, Amount: 29 * usd, Currency: "USD"},
			acquisition: map[string][]string{"e_ann": {"w1", "w2"}},
			want: Effect{Outcome: OutcomeNew, Diff: 29 * usd, Added: []string{"w1", "w2"}, AttachAttendee: true,
				Order: Order{Amount: 29 * usd, Currency: "USD", Webinars: []string{"w1", "w2"}, AttendeeID: "e_ann", FirstSeen: t0, LastSeen: t0}},
		},
		{
			name: "webinar-less hit without attendee is rejected",
			s:    Sighting{Time: t0, HasAmount: true, Amount: 29 * usd, Currency: "USD"},
			want: Effect{Outcome: OutcomeNoWebinar},
		},
		{
			name: "webinar-less hit of an attendee without acquisition is accepted without webinar",
			s:    Sighting{Time: t0, AttendeeID: "e_bob", HasAmount: true, Amount: 29 * usd, Currency: "USD"},
			want: Effect{Outcome: OutcomeNew, Diff: 29 * usd, AttachAttendee: true,
				Order: Order{Amount: 29 * usd, Currency: "USD", AttendeeID: "e_bob", FirstSeen: t0, LastSeen: t0}},
		},
		{
			name: "an attendee is attached later",
			prev: stored(10*usd, "", "w1"),
			s:    Sighting{Time: later, Webinars: []string{"w1"}, AttendeeID: "e_ann", Currency: "USD"},
			want: Effect{Outcome: OutcomeUpdated, Existing: []string{"w1"}, AttachAttendee: true, Acquire: true,
				Order: Order{Amount: 10 * usd, Currency: "USD", Webinars: []string{"w1"}, AttendeeID: "e_ann", FirstSeen: t0, LastSeen: later}},
		},
		{
			name:        "the order keeps its first attendee",
			prev:        stored(10*usd, "e_ann", "w1"),
			acquisition: map[string][]string{"e_ann": {"w1"}},
			s:           Sighting{Time: later, Webinars: []string{"w1"}, AttendeeID: "e_bob", Currency: "USD"},
			want: Effect{Outcome: OutcomeSame, Existing: []string{"w1"},
				Order: Order{Amount: 10 * usd, Currency: "USD", Webinars: []string{"w1"}, AttendeeID: "e_ann", FirstSeen: t0, LastSeen: later}},
		},
		{
			name:        "no acquisition for an attendee who has one",
			s:           Sighting{Time: t0, Webinars: []string{"w9"}, AttendeeID: "e_ann", HasAmount: true, Amount: usd, Currency: "USD"},
			acquisition: map[string][]string{"e_ann": {"w1"}},
			want: Effect{Outcome: OutcomeNew, Diff: usd, Added: []string{"w9"}, AttachAttendee: true, Acquire: false,
				Order: Order{Amount: usd, Currency: "USD", Webinars: []string{"w9"}, AttendeeID: "e_ann", FirstSeen: t0, LastSeen: t0}},
		},
		{
			name:        "attaching an attendee who has an acquisition does not acquire",
			prev:        stored(10*usd, "", "w1"),
			s:           Sighting{Time: later, Webinars: []string{"w1"}, AttendeeID: "e_ann", Currency: "USD"},
			acquisition: map[string][]string{"e_ann": {"w0"}},
			want: Effect{Outcome: OutcomeUpdated, Existing: []string{"w1"}, AttachAttendee: true, Acquire: false,
				Order: Order{Amount: 10 * usd, Currency: "USD", Webinars: []string{"w1"}, AttendeeID: "e_ann", FirstSeen: t0, LastSeen: later}},
		},
		{
			name: "fingerprint window expired starts a new order",
			prev: stored(10*usd, "", "w1"),
			s: Sighting{Time: t0.Add(FingerprintWindow + time.Second), Webinars: []string{"w1"}, HasAmount: true, Amount: 10 * usd,
				Currency: "USD", Window: FingerprintWindow},
			want: Effect{Outcome: OutcomeNew, Diff: 10 * usd, Added: []string{"w1"},
				Order: Order{Amount: 10 * usd, Currency: "USD", Webinars: []string{"w1"},
					FirstSeen: t0.Add(FingerprintWindow + time.Second), LastSeen: t0.Add(FingerprintWindow + time.Second)}},
		},
		{
			name: "fingerprint within the window is the same order",
			prev: stored(10*usd, "", "w1"),
			s: Sighting{Time: t0.Add(FingerprintWindow), Webinars: []string{"w1"}, HasAmount: true, Amount: 10 * usd,
				Currency: "USD", Window: FingerprintWindow},
			want: Effect{Outcome: OutcomeSame, Existing: []string{"w1"},
				Order: Order{Amount: 10 * usd, Currency: "USD", Webinars: []string{"w1"}, FirstSeen: t0, LastSeen: t0.Add(FingerprintWindow)}},
		},
		{
			name: "without a window an old order is still the same order",
			prev: stored(10*usd, "", "w1"),
			s:    Sighting{Time: t0.Add(365 * 24 * time.Hour), Webinars: []string{"w1"}, HasAmount: true, Amount: 10 * usd, Currency: "USD"},
			want: Effect{Outcome: OutcomeSame, Existing: []string{"w1"},
				Order: Order{Amount: 10 * usd, Currency: "USD", Webinars: []string{"w1"}, FirstSeen: t0, LastSeen: t0.Add(365 * 24 * time.Hour)}},
		},
		{
			name: "a sighting dated earlier does not move last seen back",
			prev: stored(10*usd, "", "w1"),
			s:    Sighting{Time: t0.Add(-time.Hour), Webinars: []string{"w1"}, Currency: "USD", Window: FingerprintWindow},
			want: Effect{Outcome: OutcomeSame, Existing: []string{"w1"},
				Order: Order{Amount: 10 * usd, Currency: "USD", Webinars: []string{"w1"}, FirstSeen: t0, LastSeen: t0}},
		},
		{
			name: "the same refresh changes nothing",
			prev: stored(49_990_000, "e_ann", "w1", "w2"),
			s: Sighting{Time: later, Webinars: []string{"w2", "w1"}, AttendeeID: "e_ann",
				HasAmount: true, Amount: 49_990_000, Currency: "USD"},
			acquisition: map[string][]string{"e_ann": {"w1", "w2"}},
			want: Effect{Outcome: OutcomeSame, Diff: 0, Existing: []string{"w1", "w2"},
				Order: Order{Amount: 49_990_000, Currency: "USD", Webinars: []string{"w1", "w2"}, AttendeeID: "e_ann", FirstSeen: t0, LastSeen: later}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before *Order
			if tt.prev != nil {
				c := *tt.prev
				c.Webinars = slices.Clone(tt.prev.Webinars)
				before = &c
			}
			got := Sight(tt.prev, tt.s, acquisitions(tt.acquisition))
			if !sameEffect(got, tt.want) {
				t.Errorf("Sight()\n got %+v\nwant %+v", got, tt.want)
			}
			if got.Outcome.Rejected() != (tt.want.Outcome == OutcomeCurrencyMismatch || tt.want.Outcome == OutcomeNoWebinar) {
				t.Errorf("Rejected() = %v for %v", got.Outcome.Rejected(), got.Outcome)
			}
			if tt.prev != nil && !reflect.DeepEqual(tt.prev, before) {
				t.Errorf("Sight changed the stored order: %+v, was %+v", tt.prev, before)
			}
		})
	}
}

// sameEffect compares effects, a nil slice equal to an empty one.
func sameEffect(a, b Effect) bool {
	return a.Outcome == b.Outcome && a.Diff == b.Diff &&
		a.AttachAttendee == b.AttachAttendee && a.Acquire == b.Acquire &&
		slices.Equal(a.Existing, b.Existing) && slices.Equal(a.Added, b.Added) &&
		a.Order.Amount == b.Order.Amount && a.Order.Currency == b.Order.Currency &&
		slices.Equal(a.Order.Webinars, b.Order.Webinars) && a.Order.AttendeeID == b.Order.AttendeeID &&
		a.Order.FirstSeen.Equal(b.Order.FirstSeen) && a.Order.LastSeen.Equal(b.Order.LastSeen)
}

// TestSightSequence follows one order through a day: a thank-you page,
// its refresh, an upsell naming another webinar, a partial refund from the
// backend, then the customer's monthly charge (a new order id) credited to
// the webinar that won them.
func TestSightSequence(t *testing.T) {
	acq := map[string][]string{}
	acquisition := acquisitions(acq)
	step := func(prev *Order, s Sighting, outcome Outcome, diff Micros, added ...string) *Order {
		t.Helper()
		e := Sight(prev, s, acquisition)
		if e.Outcome != outcome || e.Diff != diff || !slices.Equal(e.Added, added) {
			t.Fatalf("got %v diff %d added %v; want %v diff %d added %v", e.Outcome, e.Diff, e.Added, outcome, diff, added)
		}
		if e.Acquire {
			acq[e.Order.AttendeeID] = e.Order.Webinars
		}
		return &e.Order
	}
	hit := func(min int, amount Micros, webinars ...string) Sighting {
		return Sighting{Time: t0.Add(time.Duration(min) * time.Minute), Webinars: webinars, AttendeeID: "e_ann",
			HasAmount: amount >= 0, Amount: max(amount, 0), Currency: "USD"}
	}
	o := step(nil, hit(0, 49*usd, "w1"), OutcomeNew, 49*usd, "w1")
	o = step(o, hit(1, 49*usd, "w1"), OutcomeSame, 0)
	o = step(o, hit(2, 79*usd, "w1", "w2"), OutcomeUpdated, 30*usd, "w2")
	o = step(o, hit(60, 59*usd), OutcomeUpdated, -20*usd)
	if o.Amount != 59*usd || !slices.Equal(o.Webinars, []string{"w1", "w2"}) {
		t.Fatalf("order = %+v", o)
	}
	// Acquisition was fixed by the first sighting, before the upsell.
	step(nil, hit(60*24*30, 19*usd), OutcomeNew, 19*usd, "w1")
}
