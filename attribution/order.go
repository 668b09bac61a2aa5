package attribution

import (
	"slices"
	"time"
)

// Order is the part of a ledger order the rules of SPEC §2 read and write.
type Order struct {
	Amount     Micros
	Currency   string
	Webinars   []string // credited, in crediting order
	AttendeeID string   // the attendee the order was first attached to, or ""
	FirstSeen  time.Time
	LastSeen   time.Time
}

// Sighting is one hit naming an order.
type Sighting struct {
	Time time.Time
	// Webinars is R: the hit's explicit webinars followed by the members of
	// its tags at the time of the hit, without duplicates.
	Webinars   []string
	AttendeeID string // resolved attendee, or ""
	HasAmount  bool   // false: a first sighting counts 0, a later one keeps the amount
	Amount     Micros
	Currency   string
	// Window > 0 makes the order key a sliding fingerprint: a sighting more
	// than Window after the last one starts a new order.
	Window time.Duration
}

// Outcome classifies a sighting.
type Outcome uint8

const (
	OutcomeNew              Outcome = iota + 1 // first sighting: a sale
	OutcomeUpdated                             // amount changed, webinars added or attendee attached
	OutcomeSame                                // a refresh that changed nothing
	OutcomeCurrencyMismatch                    // rejected: the order has another currency
	OutcomeNoWebinar                           // rejected: nothing to credit and nobody to credit it to
)

// Effect is what a sighting changes. A ledger applies it as follows:
//   - each webinar in Existing: revenue[Currency] += Diff;
//   - each webinar in Added: sales +1, revenue[Currency] += Order.Amount;
//   - if Order.AttendeeID is set and AttachAttendee: the attendee's orders
//     +1, LTV += Order.Amount, it converts for every Order.Webinars;
//     otherwise (attendee already attached): LTV += Diff, it converts for
//     every Added;
//   - if Acquire: the attendee's acquisition webinars become Order.Webinars.
//
// "Converts for W": the attendee joins converted(W) if not yet in it
// (converted +1, and converted_registrants +1 if it registered for W).
type Effect struct {
	Outcome        Outcome
	Order          Order    // the order after the sighting; zero when rejected
	Diff           Micros   // the change of the order's amount (its full amount when new)
	Existing       []string // webinars credited before this sighting
	Added          []string // webinars credited by this sighting
	AttachAttendee bool
	Acquire        bool
}

// Rejected reports whether the sighting changed nothing because it was refused.
func (o Outcome) Rejected() bool {
	return o == OutcomeCurrencyMismatch || o == OutcomeNoWebinar
}

// Sight applies the order rules of SPEC §2 to one sighting. prev is the
// stored order or nil. acquisition returns an attendee's acquisition
// webinars (those of its first credited order).
func Sight(prev *Order, s Sighting, acquisition func(attendeeID string) []string) Effect {
	if prev != nil && s.Window > 0 && s.Time.Sub(prev.LastSeen) > s.Window {
		prev = nil // the fingerprint expired: this is another order
	}
	if prev == nil {
		return firstSighting(s, acquisition)
	}
	return laterSighting(prev, s, acquisition)
}

func firstSighting(s Sighting, acquisition func(string) []string) Effect {
	webinars := slices.Clone(s.Webinars)
	if len(webinars) == 0 && s.AttendeeID != "" {
		// A webinar-less hit (a recurring charge) stays with the webinars
		// that won the customer.
		webinars = slices.Clone(acquisition(s.AttendeeID))
	}
	if len(webinars) == 0 && s.AttendeeID == "" {
		return Effect{Outcome: OutcomeNoWebinar}
	}
	var amount Micros
	if s.HasAmount {
		amount = s.Amount
	}
	e := Effect{
		Outcome: OutcomeNew,
		Order: Order{Amount: amount, Currency: s.Currency, Webinars: webinars,
			AttendeeID: s.AttendeeID, FirstSeen: s.Time, LastSeen: s.Time},
		Diff:           amount,
		Added:          webinars,
		AttachAttendee: s.AttendeeID != "",
	}
	e.Acquire = acquires(e.Order, acquisition)
	return e
}

func laterSighting(prev *Order, s Sighting, acquisition func(string) []string) Effect {
	if s.Currency != prev.Currency {
		return Effect{Outcome: OutcomeCurrencyMismatch}
	}
	amount := prev.Amount
	if s.HasAmount {
		amount = s.Amount
	}
	var added []string
	for _, w := range s.Webinars {
		if !slices.Contains(prev.Webinars, w) && !slices.Contains(added, w) {
			added = append(added, w)
		}
	}
	order := *prev
	order.Webinars = append(slices.Clone(prev.Webinars), added...)
	order.Amount = amount
	if s.Time.After(prev.LastSeen) {
		// A hit that waited in the log (or a node's clock behind) does not
		// move last seen back: the window would end early, and the order's
		// next sighting count as another sale.
		order.LastSeen = s.Time
	}
	e := Effect{
		Order:    order,
		Diff:     amount - prev.Amount,
		Existing: slices.Clone(prev.Webinars),
		Added:    added,
	}
	if prev.AttendeeID == "" && s.AttendeeID != "" {
		e.Order.AttendeeID = s.AttendeeID
		e.AttachAttendee = true
	}
	e.Acquire = acquires(e.Order, acquisition)
	e.Outcome = OutcomeSame
	if e.Diff != 0 || len(added) > 0 || e.AttachAttendee {
		e.Outcome = OutcomeUpdated
	}
	return e
}

// acquires reports whether the order's attendee gets its acquisition
// webinars from this order: it has none yet and the order has some.
func acquires(o Order, acquisition func(string) []string) bool {
	return o.AttendeeID != "" && len(o.Webinars) > 0 && len(acquisition(o.AttendeeID)) == 0
}
