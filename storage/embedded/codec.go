package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
)

// Records are stored in a compact binary form: a version byte, then fields
// in a fixed order as varints and length-prefixed strings. Money is an int64
// of micro-units, exact.
const recordVersion = 1

var errCorrupt = errors.New("corrupt record")

// accountRec is the "meta" value of an account bucket.
type accountRec struct {
	Name            string
	DefaultCurrency string
}

// webinarRec is a webinar's configuration; a webinar first seen in a hit has
// the zero value.
type webinarRec struct {
	Name string
	Tags []string // sorted, unique
}

// orderRec is an order as stored.
type orderRec struct {
	Key         string
	OrderID     string
	Amount      attribution.Micros
	Currency    string
	Webinars    []string
	AttendeeID  string
	ProductID   string
	ProductName string
	Source      string
	FirstSeen   int64 // unix nanoseconds
	LastSeen    int64
}

// attendeeRec is an attendee as stored; its orders are kept in the
// attendee-orders index.
type attendeeRec struct {
	Email       string
	Orders      int64
	LTV         moneyMap
	Webinars    []string // sorted
	Acquisition []string
}

// statsRec holds a webinar's totals.
type statsRec struct {
	Registrants          int64
	Converted            int64
	ConvertedRegistrants int64
	Sales                int64
	Revenue              moneyMap
}

// moneyMap is money per currency; entries that reach 0 are deleted.
type moneyMap map[string]attribution.Micros

func (m *moneyMap) add(currency string, v attribution.Micros) {
	if v == 0 {
		return
	}
	if *m == nil {
		*m = moneyMap{}
	}
	if n := (*m)[currency] + v; n != 0 {
		(*m)[currency] = n
	} else {
		delete(*m, currency)
	}
}

// public returns a copy without zero totals, never nil.
func (m moneyMap) public() map[string]attribution.Micros {
	out := make(map[string]attribution.Micros, len(m))
	for c, v := range m {
		if v != 0 {
			out[c] = v
		}
	}
	return out
}

// Encoding.

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendStrings(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendString(b, s)
	}
	return b
}

func appendMoney(b []byte, m moneyMap) []byte {
	currencies := make([]string, 0, len(m))
	for c, v := range m {
		if v != 0 {
			currencies = append(currencies, c)
		}
	}
	slices.Sort(currencies) // deterministic bytes
	b = binary.AppendUvarint(b, uint64(len(currencies)))
	for _, c := range currencies {
		b = appendString(b, c)
		b = binary.AppendVarint(b, int64(m[c]))
	}
	return b
}

func (r *accountRec) encode() []byte {
	b := []byte{recordVersion}
	b = appendString(b, r.Name)
	return appendString(b, r.DefaultCurrency)
}

func (r *webinarRec) encode() []byte {
	b := []byte{recordVersion}
	b = appendString(b, r.Name)
	return appendStrings(b, r.Tags)
}

func (r *orderRec) encode() []byte {
	b := make([]byte, 0, 64+len(r.Key)+len(r.OrderID)+len(r.ProductName))
	b = append(b, recordVersion)
	b = appendString(b, r.Key)
	b = appendString(b, r.OrderID)
	b = binary.AppendVarint(b, int64(r.Amount))
	b = appendString(b, r.Currency)
	b = appendStrings(b, r.Webinars)
	b = appendString(b, r.AttendeeID)
	b = appendString(b, r.ProductID)
	b = appendString(b, r.ProductName)
	b = appendString(b, r.Source)
	b = binary.AppendVarint(b, r.FirstSeen)
	return binary.AppendVarint(b, r.LastSeen)
}

func (r *attendeeRec) encode() []byte {
	b := []byte{recordVersion}
	b = appendString(b, r.Email)
	b = binary.AppendVarint(b, r.Orders)
	b = appendMoney(b, r.LTV)
	b = appendStrings(b, r.Webinars)
	return appendStrings(b, r.Acquisition)
}

func (r *statsRec) encode() []byte {
	b := []byte{recordVersion}
	b = binary.AppendVarint(b, r.Registrants)
	b = binary.AppendVarint(b, r.Converted)
	b = binary.AppendVarint(b, r.ConvertedRegistrants)
	b = binary.AppendVarint(b, r.Sales)
	return appendMoney(b, r.Revenue)
}

// Decoding. A decoder copies what it reads: bolt's bytes are only valid
// inside their transaction.

type decoder struct {
	b   []byte
	err error
}

func newDecoder(b []byte) *decoder {
	d := &decoder{b: b}
	if len(b) == 0 || b[0] != recordVersion {
		d.err = errCorrupt
		return d
	}
	d.b = b[1:]
	return d
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.err = errCorrupt
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) strings() []string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = cmpErr(d.err, errCorrupt)
		return nil
	}
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.string()
	}
	return out
}

func (d *decoder) money() moneyMap {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = cmpErr(d.err, errCorrupt)
		return nil
	}
	if n == 0 {
		return nil
	}
	m := make(moneyMap, n)
	for range n {
		c := d.string()
		m[c] = attribution.Micros(d.varint())
	}
	return m
}

func (d *decoder) done(what string) error {
	if d.err == nil && len(d.b) != 0 {
		d.err = errCorrupt
	}
	if d.err != nil {
		return fmt.Errorf("cannot decode %s: %w", what, d.err)
	}
	return nil
}

func cmpErr(err, other error) error {
	if err != nil {
		return err
	}
	return other
}

func decodeAccount(b []byte) (accountRec, error) {
	d := newDecoder(b)
	r := accountRec{Name: d.string(), DefaultCurrency: d.string()}
	return r, d.done("account")
}

func decodeWebinar(b []byte) (webinarRec, error) {
	d := newDecoder(b)
	r := webinarRec{Name: d.string(), Tags: d.strings()}
	return r, d.done("webinar")
}

func decodeOrder(b []byte) (*orderRec, error) {
	d := newDecoder(b)
	r := &orderRec{
		Key:         d.string(),
		OrderID:     d.string(),
		Amount:      attribution.Micros(d.varint()),
		Currency:    d.string(),
		Webinars:    d.strings(),
		AttendeeID:  d.string(),
		ProductID:   d.string(),
		ProductName: d.string(),
		Source:      d.string(),
		FirstSeen:   d.varint(),
		LastSeen:    d.varint(),
	}
	return r, d.done("order")
}

func decodeAttendee(b []byte) (*attendeeRec, error) {
	d := newDecoder(b)
	r := &attendeeRec{
		Email:       d.string(),
		Orders:      d.varint(),
		LTV:         d.money(),
		Webinars:    d.strings(),
		Acquisition: d.strings(),
	}
	return r, d.done("attendee")
}

func decodeStats(b []byte) (*statsRec, error) {
	d := newDecoder(b)
	r := &statsRec{
		Registrants:          d.varint(),
		Converted:            d.varint(),
		ConvertedRegistrants: d.varint(),
		Sales:                d.varint(),
		Revenue:              d.money(),
	}
	return r, d.done("stats")
}

// Times are unix nanoseconds in records, and big-endian with the sign bit
// flipped in keys (so byte order is time order).

func nanos(t time.Time) int64 { return t.UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func appendTimeKey(b []byte, n int64) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(n)^(1<<63))
}

func timeFromKey(b []byte) int64 {
	return int64(binary.BigEndian.Uint64(b) ^ (1 << 63))
}
