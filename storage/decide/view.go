package decide

import "github.com/pixelpost/pixelpost/storage"

// View is the state of one account as an adapter stores it: what the rules
// read. A Txn reads each record at most once (it keeps what it read and
// wrote), so a View need not cache. Absent records are nil, false or
// empty, never an error; an error is a failure of the store and ends the
// Txn's batch.
//
// The Redis adapter records every read as a condition of its write (the
// value must still be what was read), so a read must be of exactly what
// the rule depends on.
type View interface {
	// Exists reports whether the account exists.
	Exists() (bool, error)

	// Mark is the account's high-water mark for a hits log: the position
	// of the last op of that log it applied, 0 for none.
	Mark(log string) (uint64, error)
	// Retained is the result the op at pos of log had, or nil when it is
	// no longer kept.
	Retained(log string, pos uint64) (*storage.Result, error)
	// LegacyHit looks up op's hit id in what an earlier build remembered
	// of the hits it applied (op.CheckHitID): whether it was applied, and
	// its result if still kept.
	LegacyHit(op *storage.Op) (applied bool, orig *storage.Result, err error)

	Order(key string) (*Order, error)
	Attendee(id string) (*Attendee, error)
	// CookieLink is the attendee a cookie is linked to, "" for none.
	CookieLink(cookie string) (string, error)
	Registration(webinar, attendeeID string) (*Registration, error)
	// TagMembers lists the webinars carrying a tag, sorted by id.
	TagMembers(tag string) ([]string, error)
	// Tombstone is the time an attendee was erased at.
	Tombstone(attendeeID string) (at int64, ok bool, err error)
	Click(id string) (*storage.ClickRec, error)
	Conversion(key string) (*storage.ConvRec, error)
	// Profile returns an attendee's profile fields (nil: none). The Txn
	// does not modify the map.
	Profile(attendeeID string) (map[string]string, error)
	// Config returns a configuration document, nil when none.
	Config(kind, id string) ([]byte, error)

	// Reads of an erasure and of configuration.

	Webinar(id string) (*Webinar, error)
	// Webinars lists the account's webinars (configured and seen).
	Webinars() ([]string, error)
	OrderList(attendeeID string) ([]ListedOrder, error)
	// LinkedCookies lists the cookies linked to an attendee.
	LinkedCookies(attendeeID string) ([]string, error)
	TiedClicks(attendeeID string) ([]TiedClick, error)
	// RetainedResults lists every result the account keeps for replays.
	RetainedResults() ([]Retained, error)
}
