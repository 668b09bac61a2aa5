package embedded

import (
	"encoding/binary"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/internal/binenc"
	"github.com/pixelpost/pixelpost/storage/decide"
)

// Records are stored in a compact binary form: a version byte
// (decide.RecordVersion), then fields in a fixed order as varints and
// length-prefixed strings. Money is an int64 of micro-units, exact.
const recordVersion = decide.RecordVersion

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
	Revenue              decide.Money
}

// Encoding.

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
	return decide.AppendMoney(b, r.Revenue)
}

// Decoding (decide.NewDecoder: the version byte, then the fields; it copies
// what it reads, as bolt's bytes are only valid inside their transaction).

func decodeAccount(b []byte) (accountRec, error) {
	d := decide.NewDecoder(b)
	r := accountRec{Name: d.String(), DefaultCurrency: d.String()}
	if d.Len() > 0 {
		r.MaxAmount = attribution.Micros(d.Varint())
	}
	return r, d.Done("account")
}

func decodeWebinar(b []byte) (webinarRec, error) {
	d := decide.NewDecoder(b)
	r := webinarRec{Name: d.String(), Tags: d.Strings()}
	return r, d.Done("webinar")
}

func decodeOrder(b []byte) (*decide.Order, error) { return decide.DecodeOrder(b) }

func decodeAttendee(b []byte) (*decide.Attendee, error) { return decide.DecodeAttendee(b) }

func decodeStats(b []byte) (*statsRec, error) {
	d := decide.NewDecoder(b)
	r := &statsRec{
		Registrants:          d.Varint(),
		Converted:            d.Varint(),
		ConvertedRegistrants: d.Varint(),
		Sales:                d.Varint(),
		Revenue:              d.Money(),
	}
	return r, d.Done("stats")
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
