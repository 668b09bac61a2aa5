package decide

import (
	"slices"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

// Erase erases the attendee of a normalised email at time at
// (docs/ledger.md "Erasure"): its record, orders (current and replaced
// ones of its order list), registrations, profile and cookie links go; the
// webinar totals lose what they counted of it; the clicks it converted
// lose their macros (and are named in the Erasure); the results kept for
// replays that name it go; and its
// tombstone refuses its ops dated up to at. The account must exist.
func (t *Txn) Erase(email string, at time.Time) (storage.Erasure, error) {
	id := attribution.EmailAttendeeID(email)
	er := storage.Erasure{AttendeeID: id}
	rec, err := t.attendee(id)
	if err != nil {
		return er, err
	}
	er.Found = rec != nil
	if err := t.eraseOrders(id, &er); err != nil {
		return er, err
	}
	tied, err := t.v.TiedClicks(id)
	if err != nil {
		return er, err
	}
	for _, c := range tied {
		// Named to the caller, who strips them where else they are kept
		// (raw hits, outbound postbacks); the ties stay as long as their
		// clicks, so the same erasure sent again names them again.
		if c.ID != "" {
			er.ClickIDs = append(er.ClickIDs, c.ID)
		}
		if c.Rec == nil || len(c.Rec.Macros) == 0 {
			continue // dropped already, or stripped by an earlier erasure
		}
		// Its campaign, cost, time and valuation stay (reports stay
		// right); the traffic source's ids of the person's visit go.
		stripped := *c.Rec
		stripped.Macros = nil
		t.ch.Stripped = append(t.ch.Stripped, TiedClick{Ref: c.Ref, ID: c.ID, Rec: &stripped})
		er.Clicks++
	}
	slices.Sort(er.ClickIDs)
	if rec != nil {
		for _, w := range rec.Webinars { // it converted for w
			st := t.ch.stats(w)
			st.Converted--
			reg, err := t.registration(w, id)
			if err != nil {
				return er, err
			}
			if reg != nil {
				st.ConvertedRegistrants--
			}
		}
	}
	webinars, err := t.v.Webinars()
	if err != nil {
		return er, err
	}
	for _, w := range webinars {
		reg, err := t.registration(w, id)
		if err != nil {
			return er, err
		}
		if reg == nil {
			continue
		}
		t.ch.stats(w).Registrants--
		t.putRegistration(w, id, nil)
		er.Registrations++
	}
	cookies, err := t.v.LinkedCookies(id)
	if err != nil {
		return er, err
	}
	for _, c := range cookies {
		t.cookies[c] = ""
		t.ch.Cookies[c] = ""
	}
	er.Cookies = len(cookies)

	c := t.attendeeChange(id)
	c.Rec, c.Was = nil, rec
	t.attendees[id] = nil
	t.profiles[id] = nil
	t.ch.Profiles[id] = &ProfileChange{Deleted: true}

	tb, err := t.tombstone(id)
	if err != nil {
		return er, err
	}
	if next := LaterTombstone(tb.at, tb.ok, at.UnixNano()); next != tb.at || !tb.ok {
		t.tombs[id] = tomb{next, true}
		t.ch.Tombstones[id] = next
	}

	kept, err := t.v.RetainedResults()
	if err != nil {
		return er, err
	}
	for _, r := range kept {
		if r.Result.AttendeeID == id {
			t.ch.Scrubbed = append(t.ch.Scrubbed, r)
		}
	}
	return er, nil
}

// LaterTombstone is an attendee's tombstone after an erasure at at: a
// later erasure moves it later, an earlier one does not move it back.
func LaterTombstone(prev int64, had bool, at int64) int64 {
	if had && prev >= at {
		return prev
	}
	return at
}

// eraseOrders removes the attendee's orders (its order list: current
// orders still its own from that first sighting, and the copies of those
// replaced) and what they counted in their webinars' totals.
func (t *Txn) eraseOrders(id string, er *storage.Erasure) error {
	list, err := t.v.OrderList(id)
	if err != nil {
		return err
	}
	for _, e := range list {
		o := e.Archived
		if o == nil {
			live, err := t.order(e.Key)
			if err != nil {
				return err
			}
			if live != nil && live.AttendeeID == id && live.FirstSeen == e.FirstSeen {
				o = live
				t.putOrder(e.Key, nil)
			}
		}
		if o == nil {
			continue
		}
		for _, w := range o.Webinars {
			st := t.ch.stats(w)
			st.Sales--
			st.Revenue.Add(o.Currency, -o.Amount)
		}
		er.Orders++
	}
	c := t.attendeeChange(id)
	c.DroppedOrders = append(c.DroppedOrders, list...)
	return nil
}
