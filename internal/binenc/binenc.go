// Package binenc is the length-prefixed binary encoding of the project's
// records (write-ahead log hits, embedded ledger records): strings and
// lists prefixed with their length as a uvarint, numbers as varints.
// Decoding copies the input once, so it may be reused afterwards; the
// strings read share that copy (one allocation per record, not per field).
package binenc

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// AppendString appends s, length-prefixed.
func AppendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// AppendStrings appends a list of strings, count-prefixed.
func AppendStrings(dst []byte, l []string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(l)))
	for _, s := range l {
		dst = AppendString(dst, s)
	}
	return dst
}

// AppendMap appends a map's pairs sorted by key (deterministic bytes). It
// does not allocate for maps of up to 16 pairs (most hits have none).
func AppendMap(dst []byte, m map[string]string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(m)))
	if len(m) == 0 {
		return dst
	}
	var room [16]string
	keys := room[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		dst = AppendString(AppendString(dst, k), m[k])
	}
	return dst
}

// AppendBool appends 1 or 0.
func AppendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// Decoder reads fields in order until the first failure, which it keeps:
// after one, every read returns the zero value. Not safe for concurrent use.
type Decoder struct {
	b   []byte
	str string // a copy of the input: strings read are slices of it
	bad error
	err error
}

// NewDecoder reads b; a failure is reported as bad, wrapped with what
// could not be read.
func NewDecoder(b []byte, bad error) *Decoder { return &Decoder{b: b, str: string(b), bad: bad} }

// Err is the first failure, or nil.
func (d *Decoder) Err() error { return d.err }

// Len is the number of bytes not read yet.
func (d *Decoder) Len() int { return len(d.b) }

// Fail records a failure (for checks of the caller's own).
func (d *Decoder) Fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", d.bad, what)
	}
	d.b = nil
}

// Uvarint reads an unsigned varint.
func (d *Decoder) Uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.Fail("truncated length")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// Varint reads a signed varint.
func (d *Decoder) Varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.Fail("truncated number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// String reads a length-prefixed string.
func (d *Decoder) String() string {
	n := d.Uvarint()
	if n > uint64(len(d.b)) {
		d.Fail("truncated string")
		return ""
	}
	at := len(d.str) - len(d.b)
	d.b = d.b[n:]
	return d.str[at : at+int(n)]
}

// Strings reads a list of strings; nil when empty.
func (d *Decoder) Strings() []string {
	n := d.Uvarint()
	if n == 0 {
		return nil
	}
	if n > uint64(len(d.b)) { // each element takes at least one byte
		d.Fail("truncated list")
		return nil
	}
	l := make([]string, 0, n)
	for range n {
		l = append(l, d.String())
	}
	return l
}

// Map reads what AppendMap wrote; nil when empty.
func (d *Decoder) Map() map[string]string {
	n := d.Uvarint()
	if n == 0 {
		return nil
	}
	if n > uint64(len(d.b))/2 { // each pair takes at least two bytes
		d.Fail("truncated map")
		return nil
	}
	m := make(map[string]string, n)
	for range n {
		k := d.String()
		m[k] = d.String()
	}
	return m
}

// Bool reads what AppendBool wrote.
func (d *Decoder) Bool() bool {
	if len(d.b) == 0 {
		d.Fail("truncated flag")
		return false
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v == 1
}
