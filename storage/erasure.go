package storage

import "time"

// RowErasure says what an attendee's erasure (SPEC §6) takes from raw
// rows, wherever they are kept (the rows log, ClickHouse): the person's
// rows go, and the rows of the clicks they converted keep no trace of the
// visit (StripClick).
type RowErasure struct {
	Account     string
	AttendeeID  string
	EmailSHA256 string
	// At is the erasure: a row dated after it is a new customer's.
	At time.Time
	// ClickIDs are the clicks the person converted. ConvertedClick finds
	// more in the person's rows, which the erasure then adds.
	ClickIDs map[string]bool
}

// Names reports whether h is a row of the person: by attendee id, or by
// email hash for a hit refused before it reached the ledger.
func (e *RowErasure) Names(h *Hit) bool {
	if h.Account != e.Account || h.Time.After(e.At) {
		return false
	}
	return (e.AttendeeID != "" && h.AttendeeID == e.AttendeeID) || (e.EmailSHA256 != "" && h.EmailSHA256 == e.EmailSHA256)
}

// ConvertedClick is the click a row of the person converted (the
// conversion pixel's postback row), "" for none. A refused conversion
// converted nothing.
func (e *RowErasure) ConvertedClick(h *Hit) string {
	if h.Kind != KindPostback || h.ClickID == "" || h.Status == StatusRejected || !e.Names(h) {
		return ""
	}
	return h.ClickID
}

// OfClick reports whether h is a row of one of the person's clicks: the
// click itself or a conversion of it.
func (e *RowErasure) OfClick(h *Hit) bool {
	return h.Account == e.Account && h.ClickID != "" && e.ClickIDs[h.ClickID] &&
		(h.Kind == KindClick || h.Kind == KindPostback)
}

// StripClick removes from a row of a click (the click, its conversions)
// what the traffic source and the visitor's browser told of the visit:
// the macros (external_id, zone, ...), the query, the IP address, the user
// agent and the referrer. Campaign, cost, time, status and values stay, so
// reports do not change. The ClickHouse erasure blanks the same columns
// (clickhouse.StripClicks).
func (h *Hit) StripClick() {
	h.Macros, h.Query, h.IP, h.UserAgent, h.Referer = nil, "", "", "", ""
}
