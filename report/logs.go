package report

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Log pages: newest first, at most MaxLogLimit entries (DefaultLogLimit
// unless asked), and a cursor to the next page.
const (
	DefaultLogLimit = 100
	MaxLogLimit     = 1000
)

// Cursor is a position in a log: the entries strictly older than the hit
// at Millis (Unix milliseconds) and HitID, in (time, hit id) order. The
// zero Cursor is the newest end.
type Cursor struct {
	Millis int64
	HitID  string
}

// IsZero reports the newest end.
func (c Cursor) IsZero() bool { return c.HitID == "" && c.Millis == 0 }

// Before reports whether a hit at ms with id comes before the cursor, so
// belongs to the page that starts there.
func (c Cursor) Before(ms int64, id string) bool {
	if c.IsZero() {
		return true
	}
	return ms < c.Millis || (ms == c.Millis && id < c.HitID)
}

// String is the cursor as the API gives it ("" for the zero Cursor):
// opaque, URL-safe.
func (c Cursor) String() string {
	if c.IsZero() {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.Millis, 10) + "." + c.HitID))
}

// ParseCursor reads what Cursor.String wrote ("" is the zero Cursor).
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	ms, id, ok := strings.Cut(string(b), ".")
	n, perr := strconv.ParseInt(ms, 10, 64)
	if err != nil || !ok || perr != nil || n < 0 || id == "" || len(id) > 128 {
		return Cursor{}, fmt.Errorf("%w: cursor %q is not one this API gave", ErrBadQuery, s)
	}
	return Cursor{Millis: n, HitID: id}, nil
}

// LogQuery asks a store for raw rows, newest first: those of Kinds (and
// Statuses, if any) in Range before the cursor, whose fields equal every
// non-empty filter. Campaign, Source, Network are the row's own ids
// (a postback's network is the one of the URL it came through; a lead's
// source is its lead endpoint), Zone and Country read its macros (Zone,
// Country), Webinar is one of the webinars it credited (or named, when
// rejected).
type LogQuery struct {
	Range    Range
	Kinds    []string
	Statuses []string
	Webinar  string
	Campaign string
	Source   string
	Network  string
	Zone     string
	Country  string
	ClickID  string
	TxID     string
	Goal     string
	OrderID  string
	Before   Cursor
	Limit    int
}

// LogFields are what a LogQuery reads of a row: its time in Unix
// milliseconds, its ids, the zone and country of its macros (Zone,
// Country) and its webinar_ids.
type LogFields struct {
	Millis                                                 int64
	Kind, Status, Campaign, Source, Network, ClickID, TxID string
	Goal, OrderID, Zone, Country                           string
	Webinars                                               []string
}

// Matches reports whether a row matches q's kinds, statuses, range and
// filters (not its cursor or limit): the rule of LogQuery for stores that
// filter in Go (the ClickHouse store writes it in SQL; the report suite
// binds the two).
func (q *LogQuery) Matches(f *LogFields) bool {
	if !slices.Contains(q.Kinds, f.Kind) || (len(q.Statuses) > 0 && !slices.Contains(q.Statuses, f.Status)) {
		return false
	}
	if from, to := q.Range.MillisBounds(); f.Millis < from || f.Millis >= to {
		return false
	}
	eq := func(want, got string) bool { return want == "" || want == got }
	return eq(q.Campaign, f.Campaign) && eq(q.Source, f.Source) && eq(q.Network, f.Network) &&
		eq(q.ClickID, f.ClickID) && eq(q.TxID, f.TxID) && eq(q.Goal, f.Goal) && eq(q.OrderID, f.OrderID) &&
		eq(q.Zone, f.Zone) && eq(q.Country, f.Country) &&
		(q.Webinar == "" || slices.Contains(f.Webinars, q.Webinar))
}

// Money is an amount in one currency.
type Money struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// ClickEntry is a line of the click log.
type ClickEntry struct {
	Time     time.Time         `json:"time"`
	HitID    string            `json:"hit_id"`
	Status   string            `json:"status"`
	Reason   string            `json:"reason"`
	ClickID  string            `json:"click_id"`
	Campaign string            `json:"campaign"`
	Source   string            `json:"source"`
	Network  string            `json:"network"`
	Zone     string            `json:"zone"`
	Country  string            `json:"country"`
	Cost     Money             `json:"cost"`
	Macros   map[string]string `json:"macros"`
	IP       string            `json:"ip"`
	UA       string            `json:"user_agent"`
	Referer  string            `json:"referer"`
}

// ConversionEntry is a line of the conversion log: one conversion (click
// id + txid, or goal), from its first postback to its latest.
type ConversionEntry struct {
	Time    time.Time `json:"time"` // of its first postback
	ClickID string    `json:"click_id"`
	// ClickTime is null when the click's row is not in the store.
	ClickTime *time.Time        `json:"click_time"`
	Campaign  string            `json:"campaign"`
	Source    string            `json:"source"`  // the click's
	Network   string            `json:"network"` // the click's, else its postbacks'
	Zone      string            `json:"zone"`
	Country   string            `json:"country"`
	Macros    map[string]string `json:"macros"` // the click's
	Goal      string            `json:"goal"`
	TxID      string            `json:"txid"`
	Status    string            `json:"status"` // canonical, after the latest postback
	RawStatus string            `json:"raw_status"`
	// Payout is its value after the latest postback; Revenue what it adds
	// to revenue now (the sum of its postbacks' deltas), by currency.
	Payout  Money             `json:"payout"`
	Revenue map[string]string `json:"revenue"`
	History []ConversionStep  `json:"history"`
}

// ConversionStep is one postback that created (accepted) or changed
// (updated) a conversion.
type ConversionStep struct {
	Time       time.Time `json:"time"`
	HitID      string    `json:"hit_id"`
	Status     string    `json:"status"` // of the hit: accepted, updated
	ConvStatus string    `json:"conv_status"`
	RawStatus  string    `json:"raw_status"`
	Payout     Money     `json:"payout"`
	Delta      string    `json:"delta"`
	Network    string    `json:"network"` // the network whose URL it came through
}

// LeadEntry is a line of the lead log.
type LeadEntry struct {
	Time        time.Time `json:"time"`
	HitID       string    `json:"hit_id"`
	Status      string    `json:"status"`
	Reason      string    `json:"reason"`
	Endpoint    string    `json:"endpoint"`
	AttendeeID  string    `json:"attendee_id"`
	EmailSHA256 string    `json:"email_sha256"`
	// Email is the attendee's, when the ledger still knows it (the API
	// fills it in; the stores keep hashes only).
	Email string `json:"email,omitempty"`
	Query string `json:"query"` // redacted: hidden card fields, never the person's
}

// PurchaseEntry is a line of the purchase log (conversion pixel, backend
// charges, manual conversions).
type PurchaseEntry struct {
	Time        time.Time `json:"time"`
	HitID       string    `json:"hit_id"`
	Kind        string    `json:"kind"` // pixel, manual
	Status      string    `json:"status"`
	Reason      string    `json:"reason"`
	OrderID     string    `json:"order_id"`
	ProductID   string    `json:"product_id"`
	ProductName string    `json:"product_name"`
	// Amount is what the hit named ("" without one); Delta what it changed
	// in revenue.
	Amount      Money    `json:"amount"`
	Delta       string   `json:"delta"`
	Webinars    []string `json:"webinars"`
	Source      string   `json:"source"` // pixel, backend, manual
	AttendeeID  string   `json:"attendee_id"`
	EmailSHA256 string   `json:"email_sha256"`
	Email       string   `json:"email,omitempty"` // filled in by the API, as for leads
}
