package decide

import (
	"time"

	"github.com/pixelpost/pixelpost/storage"
)

// Changes are the writes a Txn decided for one account, for its adapter to
// make in one atomic step. Maps hold the state after the batch (nil: the
// record goes); lists are in the order the ops made them.
type Changes struct {
	Orders map[string]*Order
	// Archived are orders replaced after their window, kept as last seen
	// in their attendee's order list.
	Archived []ArchivedOrder
	// Attendees: the attendees written, and those erased.
	Attendees     map[string]*AttendeeChange
	Cookies       map[string]string // cookie -> linked attendee; "": unlinked
	Registrations map[RegKey]*Registration
	// Listed are webinars to add to the account's list (untagged and
	// unnamed) unless there; commutative.
	Listed []string
	// Stats are changes of webinar totals; commutative.
	Stats       map[string]*Stats
	Clicks      map[string]*ClickChange
	Conversions map[string]*ConvChange
	// Ties are clicks an attendee converted (kept as long as the click).
	Ties     []Tie
	Stripped []TiedClick // clicks stripped of their macros (Rec after)
	Profiles map[string]*ProfileChange
	// Tombstones are erased attendees and the time erased at, after.
	Tombstones map[string]int64
	// Webinars are configured webinars written (PutWebinar); Tags the
	// tag index entries added (true) or removed (false).
	Webinars map[string]*Webinar
	Tags     map[TagEntry]bool

	// Marks are the new high-water marks, by log.
	Marks map[string]uint64
	// Retain are the results to keep for replays.
	Retain []Retained
	// Forget: by log, the position at or below which retained results
	// may be dropped (the applier's saved cursor passed them).
	Forget map[string]uint64
	// Scrubbed are retained results an erasure removed.
	Scrubbed []Retained
}

// ArchivedOrder is an order kept in its attendee's order list after its
// key was reused.
type ArchivedOrder struct {
	AttendeeID string
	Order      Order
}

// AttendeeChange is what happened to an attendee.
type AttendeeChange struct {
	// Rec is the record after; nil when erased.
	Rec *Attendee
	// Was is the record before an erasure (nil when there was none).
	Was *Attendee
	// Created: the record did not exist before the batch.
	Created bool
	// NewOrders are appended to its order list; DroppedOrders left it
	// (an erasure).
	NewOrders     []ListedOrder
	DroppedOrders []ListedOrder
}

// ClickChange is a click written: a new one (TTL: how long it is kept
// from now, its window plus storage.ClickGrace) or one rewritten in place
// (KeepTTL).
type ClickChange struct {
	Rec     storage.ClickRec
	TTL     time.Duration
	KeepTTL bool
}

// ConvChange is a conversion written; a new one goes with its click
// (kept as long as it).
type ConvChange struct {
	Rec     storage.ConvRec
	ClickID string
	New     bool
}

// Tie is a click an attendee converted (its erasure strips the click's
// macros); kept as long as the click.
type Tie struct{ Attendee, ClickID string }

// ProfileChange is a profile's fields set, or its erasure.
type ProfileChange struct {
	Set     map[string]string
	Deleted bool
	Created bool
}

// TagEntry is one entry of the tag index.
type TagEntry struct{ Tag, Webinar string }

func newChanges() *Changes {
	return &Changes{
		Orders:        map[string]*Order{},
		Attendees:     map[string]*AttendeeChange{},
		Cookies:       map[string]string{},
		Registrations: map[RegKey]*Registration{},
		Stats:         map[string]*Stats{},
		Clicks:        map[string]*ClickChange{},
		Conversions:   map[string]*ConvChange{},
		Profiles:      map[string]*ProfileChange{},
		Tombstones:    map[string]int64{},
		Webinars:      map[string]*Webinar{},
		Tags:          map[TagEntry]bool{},
		Marks:         map[string]uint64{},
		Forget:        map[string]uint64{},
	}
}

func (c *Changes) stats(w string) *Stats {
	s := c.Stats[w]
	if s == nil {
		s = &Stats{}
		c.Stats[w] = s
	}
	return s
}

// Empty reports whether there is nothing to write.
func (c *Changes) Empty() bool {
	return len(c.Orders) == 0 && len(c.Archived) == 0 && len(c.Attendees) == 0 && len(c.Cookies) == 0 &&
		len(c.Registrations) == 0 && len(c.Listed) == 0 && len(c.Stats) == 0 && len(c.Clicks) == 0 &&
		len(c.Conversions) == 0 && len(c.Ties) == 0 && len(c.Stripped) == 0 &&
		len(c.Profiles) == 0 && len(c.Tombstones) == 0 && len(c.Webinars) == 0 && len(c.Tags) == 0 &&
		len(c.Marks) == 0 && len(c.Retain) == 0 && len(c.Forget) == 0 && len(c.Scrubbed) == 0
}
