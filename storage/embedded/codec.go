package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/internal/binenc"
	"github.com/pixelpost/pixelpost/storage/decide"
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
	MaxAmount       attribution.Micros // absent in records written before it existed: 0
}

// webinarRec is a webinar's configuration; a webinar first seen in a hit has
// the zero value.
type webinarRec struct {
	Name string
	Tags []string // sorted, unique
}

// Orders and attendees are decide.Order and decide.Attendee, in the
// encoding decide shares with the Redis ledger (the same bytes this file
// always held: the version byte and fields of recordVersion).

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
		b = binenc.AppendString(b, c)
		b = binary.AppendVarint(b, int64(m[c]))
	}
	return b
}

func (r *accountRec) encode() []byte {
	b := []byte{recordVersion}
	b = binenc.AppendString(b, r.Name)
	b = binenc.AppendString(b, r.DefaultCurrency)
	return binary.AppendVarint(b, int64(r.MaxAmount))
}

func (r *webinarRec) encode() []byte {
	b := []byte{recordVersion}
	b = binenc.AppendString(b, r.Name)
	return binenc.AppendStrings(b, r.Tags)
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

// decoder reads a record after its version byte.
type decoder struct{ *binenc.Decoder }

func newDecoder(b []byte) decoder {
	if len(b) == 0 || b[0] != recordVersion {
		d := decoder{binenc.NewDecoder(nil, errCorrupt)}
		d.Fail("unknown version")
		return d
	}
	return decoder{binenc.NewDecoder(b[1:], errCorrupt)}
}

func (d decoder) money() moneyMap {
	n := d.Uvarint()
	if n > uint64(d.Len()) {
		d.Fail("truncated money")
		return nil
	}
	if n == 0 {
		return nil
	}
	m := make(moneyMap, n)
	for range n {
		c := d.String()
		m[c] = attribution.Micros(d.Varint())
	}
	return m
}

func (d decoder) done(what string) error {
	if d.Err() == nil && d.Len() != 0 {
		d.Fail("trailing bytes")
	}
	if err := d.Err(); err != nil {
		return fmt.Errorf("cannot decode %s: %w", what, err)
	}
	return nil
}

func decodeAccount(b []byte) (accountRec, error) {
	d := newDecoder(b)
	r := accountRec{Name: d.String(), DefaultCurrency: d.String()}
	if d.Len() > 0 {
		r.MaxAmount = attribution.Micros(d.Varint())
	}
	return r, d.done("account")
}

func decodeWebinar(b []byte) (webinarRec, error) {
	d := newDecoder(b)
	r := webinarRec{Name: d.String(), Tags: d.Strings()}
	return r, d.done("webinar")
}

func decodeOrder(b []byte) (*decide.Order, error) { return decide.DecodeOrder(b) }

func decodeAttendee(b []byte) (*decide.Attendee, error) { return decide.DecodeAttendee(b) }

func decodeStats(b []byte) (*statsRec, error) {
	d := newDecoder(b)
	r := &statsRec{
		Registrants:          d.Varint(),
		Converted:            d.Varint(),
		ConvertedRegistrants: d.Varint(),
		Sales:                d.Varint(),
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
