package decide

import (
	"slices"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

// convert decides a conversion: attribution.Sight (the order rules of
// SPEC §2) on the stored order, then its Effect applied as its doc
// comment says.
func (t *Txn) convert(op *storage.Op, id, email string, r []string) (storage.Result, error) {
	stored, err := t.order(op.OrderKey)
	if err != nil {
		return storage.Result{}, err
	}
	var prev *attribution.Order
	if stored != nil {
		prev = &attribution.Order{
			Amount: stored.Amount, Currency: stored.Currency, Webinars: stored.Webinars,
			AttendeeID: stored.AttendeeID, FirstSeen: FromNanos(stored.FirstSeen), LastSeen: FromNanos(stored.LastSeen),
		}
	}
	var readErr error
	acquisition := func(attendeeID string) []string {
		a, err := t.attendee(attendeeID)
		if err != nil {
			readErr = err
			return nil
		}
		if a == nil {
			return nil
		}
		return a.Acquisition
	}
	eff := attribution.Sight(prev, attribution.Sighting{
		Time: op.Time, Webinars: r, AttendeeID: id,
		HasAmount: op.HasAmount, Amount: op.Amount, Currency: op.Currency, Window: op.OrderWindow,
	}, acquisition)
	if readErr != nil {
		return storage.Result{}, readErr
	}
	switch eff.Outcome {
	case attribution.OutcomeCurrencyMismatch:
		return rejected(storage.ReasonCurrencyMismatch, id), nil
	case attribution.OutcomeNoWebinar:
		return rejected(storage.ReasonNoWebinar, id), nil
	}

	t.list(r)
	if err := t.identify(op, id, email); err != nil {
		return storage.Result{}, err
	}
	if stored != nil && eff.Outcome == attribution.OutcomeNew && stored.AttendeeID != "" {
		// The fingerprint window expired: the stored order stays in its
		// attendee's order list as it was.
		t.ch.Archived = append(t.ch.Archived, ArchivedOrder{AttendeeID: stored.AttendeeID, Order: *stored})
	}
	if err := t.applyEffect(op.OrderKey, eff); err != nil {
		return storage.Result{}, err
	}

	o := eff.Order
	var rec Order
	if eff.Outcome == attribution.OutcomeNew {
		rec = Order{Key: op.OrderKey, OrderID: op.OrderID, ProductID: op.ProductID,
			ProductName: op.ProductName, Source: op.Source, FirstSeen: nanos(o.FirstSeen)}
	} else {
		rec = *stored // labels stay those of the first sighting
	}
	rec.Amount, rec.Currency, rec.Webinars = o.Amount, o.Currency, o.Webinars
	rec.AttendeeID, rec.LastSeen = o.AttendeeID, nanos(o.LastSeen)
	if eff.Outcome != attribution.OutcomeSame || !sameOrder(&rec, stored) {
		// A refresh changing nothing, not even the time, writes nothing:
		// identical refreshes on several nodes do not conflict.
		t.putOrder(op.OrderKey, &rec)
	}

	res := storage.Result{Delta: eff.Diff, Credited: slices.Clone(o.Webinars), AttendeeID: id}
	switch eff.Outcome {
	case attribution.OutcomeNew:
		res.Status = storage.StatusAccepted
	case attribution.OutcomeUpdated:
		res.Status = storage.StatusUpdated
	default:
		res.Status, res.Reason = storage.StatusDuplicate, storage.ReasonSameOrder
	}
	return res, nil
}

// applyEffect applies the Effect of a sighting of orderKey exactly as
// attribution.Effect documents, and lists an attached order under its
// attendee. An attendee whose record does not change is not written.
func (t *Txn) applyEffect(orderKey string, eff attribution.Effect) error {
	o := eff.Order
	if eff.Diff != 0 {
		for _, w := range eff.Existing {
			t.ch.stats(w).Revenue.Add(o.Currency, eff.Diff)
		}
	}
	for _, w := range eff.Added {
		st := t.ch.stats(w)
		st.Sales++
		st.Revenue.Add(o.Currency, o.Amount)
	}
	if o.AttendeeID == "" {
		return nil
	}
	converts := eff.Added
	if !eff.AttachAttendee && eff.Diff == 0 && !eff.Acquire {
		// Nothing of the attendee changes unless it converts for a new
		// webinar.
		a, err := t.attendee(o.AttendeeID)
		if err != nil {
			return err
		}
		if a == nil || !convertsAny(a, converts) {
			return nil
		}
	}
	a, err := t.writableAttendee(o.AttendeeID)
	if err != nil {
		return err
	}
	if a == nil { // cannot happen: identify created it, or it had the order
		a = &Attendee{}
		t.putAttendee(o.AttendeeID, a)
	}
	if eff.AttachAttendee {
		a.Orders++
		a.LTV.Add(o.Currency, o.Amount)
		converts = o.Webinars
		c := t.attendeeChange(o.AttendeeID)
		c.NewOrders = append(c.NewOrders, ListedOrder{Key: orderKey, FirstSeen: nanos(o.FirstSeen)})
	} else {
		a.LTV.Add(o.Currency, eff.Diff)
	}
	for _, w := range converts {
		if err := t.convertsFor(o.AttendeeID, a, w); err != nil {
			return err
		}
	}
	if eff.Acquire {
		a.Acquisition = slices.Clone(o.Webinars)
	}
	return nil
}

func sameOrder(a, b *Order) bool {
	return b != nil && a.Amount == b.Amount && a.Currency == b.Currency && slices.Equal(a.Webinars, b.Webinars) &&
		a.AttendeeID == b.AttendeeID && a.LastSeen == b.LastSeen && a.FirstSeen == b.FirstSeen
}

// convertsAny reports whether a has not converted for one of webinars.
func convertsAny(a *Attendee, webinars []string) bool {
	for _, w := range webinars {
		if _, found := slices.BinarySearch(a.Webinars, w); !found {
			return true
		}
	}
	return false
}

// convertsFor: the attendee joins converted(W) if not yet in it (converted
// +1, and converted registrants +1 if it registered for W).
func (t *Txn) convertsFor(id string, a *Attendee, w string) error {
	i, found := slices.BinarySearch(a.Webinars, w)
	if found {
		return nil
	}
	a.Webinars = slices.Insert(a.Webinars, i, w)
	st := t.ch.stats(w)
	st.Converted++
	reg, err := t.registration(w, id)
	if err != nil {
		return err
	}
	if reg != nil {
		st.ConvertedRegistrants++
	}
	return nil
}

// converted reports whether the attendee converted for w.
func converted(a *Attendee, w string) bool {
	if a == nil {
		return false
	}
	_, found := slices.BinarySearch(a.Webinars, w)
	return found
}

func nanos(t time.Time) int64 { return t.UnixNano() }
