package decide

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/internal/binenc"
	"github.com/pixelpost/pixelpost/storage"
)

// The records the rules read and write. Times are unix nanoseconds.

// Order is an order as stored under its key.
type Order struct {
	Key         string
	OrderID     string
	Amount      attribution.Micros
	Currency    string
	Webinars    []string // credited, in crediting order
	AttendeeID  string
	ProductID   string
	ProductName string
	Source      string
	FirstSeen   int64
	LastSeen    int64
}

// Public is the order as storage.Ledger reads return it.
func (o *Order) Public() storage.Order {
	w := o.Webinars
	if w == nil {
		w = []string{}
	}
	return storage.Order{Key: o.Key, OrderID: o.OrderID, Amount: o.Amount, Currency: o.Currency,
		Webinars: w, AttendeeID: o.AttendeeID, ProductID: o.ProductID, ProductName: o.ProductName,
		Source: o.Source, FirstSeen: FromNanos(o.FirstSeen), LastSeen: FromNanos(o.LastSeen)}
}

// Attendee is an attendee's record (its orders are in its order list).
type Attendee struct {
	Email       string // "" for a cookie attendee, or one rebuilt from raw hits
	Orders      int64
	LTV         Money
	Webinars    []string // sorted: the webinars an order of its was credited to
	Acquisition []string // the webinars of its first credited order
}

func (a *Attendee) clone() *Attendee {
	c := *a
	c.LTV = a.LTV.clone()
	c.Webinars = slices.Clone(a.Webinars)
	c.Acquisition = slices.Clone(a.Acquisition)
	return &c
}

// Registration is an attendee's registration to a webinar.
type Registration struct {
	At    int64
	Email string
}

// RegKey names a registration.
type RegKey struct{ Webinar, Attendee string }

// ListedOrder is an entry of an attendee's order list: the order of Key
// first seen at FirstSeen. Archived is set when the order under Key is no
// longer that one (a fingerprint window replaced it): the copy kept as it
// was last seen.
type ListedOrder struct {
	Key       string
	FirstSeen int64
	Archived  *Order
}

// Webinar is a webinar's configuration; one first seen in a hit has the
// zero value.
type Webinar struct {
	Name string
	Tags []string // sorted, unique
}

// TiedClick is a click an attendee converted (the conversion pixel), as
// the adapter finds it: Ref names it for the adapter, ID is its id ("" when
// the store knows it only by a hash), Rec is nil when the click is gone.
type TiedClick struct {
	Ref string
	ID  string
	Rec *storage.ClickRec
}

// Retained is the result of an op kept for its replays.
type Retained struct {
	Log    string
	Pos    uint64
	Result storage.Result
}

// Money is money per currency; an entry back at 0 is deleted.
type Money map[string]attribution.Micros

// Add adds v in currency.
func (m *Money) Add(currency string, v attribution.Micros) {
	if v == 0 {
		return
	}
	if *m == nil {
		*m = Money{}
	}
	if n := (*m)[currency] + v; n != 0 {
		(*m)[currency] = n
	} else {
		delete(*m, currency)
	}
}

func (m Money) clone() Money {
	if m == nil {
		return nil
	}
	c := make(Money, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// Public returns a copy without zero totals, never nil.
func (m Money) Public() map[string]attribution.Micros {
	out := make(map[string]attribution.Micros, len(m))
	for c, v := range m {
		if v != 0 {
			out[c] = v
		}
	}
	return out
}

// Stats are changes of a webinar's totals (commutative: an adapter adds
// them, whatever happened meanwhile).
type Stats struct {
	Registrants          int64
	Converted            int64
	ConvertedRegistrants int64
	Sales                int64
	Revenue              Money
}

// FromNanos is a record time as a time.Time (UTC).
func FromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

// Record encodings, shared by the adapters: a version byte, then fields in
// a fixed order as varints and length-prefixed strings (internal/binenc).
// The embedded ledger stores them as they are; Redis prefixes a version
// token. Money is exact int64 micro-units.
const recordVersion = 1

// ErrCorrupt: a stored record does not decode.
var ErrCorrupt = errors.New("corrupt record")

// AppendOrder appends the encoding of o.
func AppendOrder(b []byte, o *Order) []byte {
	b = append(b, recordVersion)
	b = binenc.AppendString(b, o.Key)
	b = binenc.AppendString(b, o.OrderID)
	b = binary.AppendVarint(b, int64(o.Amount))
	b = binenc.AppendString(b, o.Currency)
	b = binenc.AppendStrings(b, o.Webinars)
	b = binenc.AppendString(b, o.AttendeeID)
	b = binenc.AppendString(b, o.ProductID)
	b = binenc.AppendString(b, o.ProductName)
	b = binenc.AppendString(b, o.Source)
	b = binary.AppendVarint(b, o.FirstSeen)
	return binary.AppendVarint(b, o.LastSeen)
}

// DecodeOrder decodes what AppendOrder wrote.
func DecodeOrder(b []byte) (*Order, error) {
	d := newDecoder(b)
	o := &Order{
		Key:         d.String(),
		OrderID:     d.String(),
		Amount:      attribution.Micros(d.Varint()),
		Currency:    d.String(),
		Webinars:    d.Strings(),
		AttendeeID:  d.String(),
		ProductID:   d.String(),
		ProductName: d.String(),
		Source:      d.String(),
		FirstSeen:   d.Varint(),
		LastSeen:    d.Varint(),
	}
	return o, d.done("order")
}

// AppendAttendee appends the encoding of a.
func AppendAttendee(b []byte, a *Attendee) []byte {
	b = append(b, recordVersion)
	b = binenc.AppendString(b, a.Email)
	b = binary.AppendVarint(b, a.Orders)
	b = AppendMoney(b, a.LTV)
	b = binenc.AppendStrings(b, a.Webinars)
	return binenc.AppendStrings(b, a.Acquisition)
}

// DecodeAttendee decodes what AppendAttendee wrote.
func DecodeAttendee(b []byte) (*Attendee, error) {
	d := newDecoder(b)
	a := &Attendee{
		Email:       d.String(),
		Orders:      d.Varint(),
		LTV:         d.money(),
		Webinars:    d.Strings(),
		Acquisition: d.Strings(),
	}
	return a, d.done("attendee")
}

// AppendMoney appends m, currencies sorted (deterministic bytes), zero
// totals left out.
func AppendMoney(b []byte, m Money) []byte {
	currencies := make([]string, 0, len(m))
	for c, v := range m {
		if v != 0 {
			currencies = append(currencies, c)
		}
	}
	slices.Sort(currencies)
	b = binary.AppendUvarint(b, uint64(len(currencies)))
	for _, c := range currencies {
		b = binenc.AppendString(b, c)
		b = binary.AppendVarint(b, int64(m[c]))
	}
	return b
}

// Decoder reads a record after its version byte.
type Decoder struct{ *binenc.Decoder }

func newDecoder(b []byte) Decoder {
	if len(b) == 0 || b[0] != recordVersion {
		d := Decoder{binenc.NewDecoder(nil, ErrCorrupt)}
		d.Fail("unknown version")
		return d
	}
	return Decoder{binenc.NewDecoder(b[1:], ErrCorrupt)}
}

// NewDecoder reads a record written with the shared record version.
func NewDecoder(b []byte) Decoder { return newDecoder(b) }

// Money reads what AppendMoney wrote.
func (d Decoder) Money() Money { return d.money() }

func (d Decoder) money() Money {
	n := d.Uvarint()
	if n > uint64(d.Len()) {
		d.Fail("truncated money")
		return nil
	}
	if n == 0 {
		return nil
	}
	m := make(Money, n)
	for range n {
		c := d.String()
		m[c] = attribution.Micros(d.Varint())
	}
	return m
}

// Done checks that the whole record was read.
func (d Decoder) Done(what string) error { return d.done(what) }

func (d Decoder) done(what string) error {
	if d.Err() == nil && d.Len() != 0 {
		d.Fail("trailing bytes")
	}
	if err := d.Err(); err != nil {
		return fmt.Errorf("cannot decode %s: %w", what, err)
	}
	return nil
}

// RecordVersion is the version byte records start with.
const RecordVersion = recordVersion
